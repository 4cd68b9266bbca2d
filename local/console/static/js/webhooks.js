// The signed-in owner's webhook endpoints: list them, add one (its secret shown once), rotate a
// secret, send a test event, enable or disable one, and open its deliveries.

import { getJson, patchJson, postJson } from "./api.js";
import { element, timeElement } from "./dom.js";
import { Notices } from "./notices.js";

export class WebhooksPanel {
  constructor(panel, secret, deliveries) {
    this.panel = panel;
    this.secret = secret;
    this.deliveries = deliveries;
    this.rows = panel.querySelector("#webhooks tbody");
    this.notices = new Notices(panel.querySelector("#webhooks-status"), panel.querySelector("#webhooks-error"));
    this.form = panel.querySelector("#webhook-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
  }

  // Forgets everything shown (on signing in or out): the secret first.
  clear() {
    this.secret.hide();
    this.deliveries.close();
    this.rows.replaceChildren();
    this.notices.say("");
  }

  async reload() {
    try {
      const { items } = await getJson("/webhooks");
      this.rows.replaceChildren(...items.map((endpoint) => this.row(endpoint)));
      this.notices.say(items.length ? `${items.length} endpoint${items.length === 1 ? "" : "s"}` : "No webhook endpoints yet.");
    } catch (error) {
      this.rows.replaceChildren();
      if (error.status === 401) this.notices.say("Sign in to see your webhook endpoints.");
      else this.notices.fail("list the webhook endpoints", error);
    }
  }

  async add() {
    const url = this.form.querySelector("#webhook-url").value.trim();
    const events = [...this.form.querySelectorAll('input[name="webhook-events"]:checked')].map((box) => box.value);
    const description = this.form.querySelector("#webhook-description").value.trim();
    if (!events.length) {
      this.notices.fail("add the endpoint", { message: "choose at least one event type" });
      return;
    }
    try {
      const created = await postJson("/webhooks", { url, events, description });
      this.secret.show(`Signing secret of the new endpoint ${created.url}`, created.secret);
      this.form.reset();
      await this.reload();
      this.notices.say(`Endpoint added: ${created.url}`);
    } catch (error) {
      this.notices.fail("add the endpoint", error);
    }
  }

  row(endpoint) {
    const row = element("tr", { "data-endpoint-id": endpoint.id });
    const name = endpoint.description || endpoint.url;
    const state = endpoint.enabled
      ? element("span", { className: "state enabled" }, "enabled")
      : element("span", { className: "state disabled" }, `disabled: ${endpoint.disabled_reason || "no reason given"}`);
    const stateCell = element("td", { className: "endpoint-state" }, state);
    if (endpoint.failing_since) stateCell.append(element("br"), "failing since ", timeElement(endpoint.failing_since));
    const actions = element(
      "div",
      { className: "actions" },
      this.button("Send test", name, () => this.sendTest(endpoint)),
      this.button("Rotate secret", name, () => this.rotate(endpoint)),
      endpoint.enabled
        ? this.button("Disable", name, () => this.setEnabled(endpoint, false))
        : this.button("Enable", name, () => this.setEnabled(endpoint, true)),
      this.button("Deliveries", name, () => this.deliveries.open(endpoint)),
    );
    row.append(
      element("td", {}, element("code", {}, endpoint.url), endpoint.description ? element("div", { className: "muted" }, endpoint.description) : ""),
      element("td", {}, endpoint.events.join(", ")),
      stateCell,
      element("td", {}, actions),
    );
    return row;
  }

  // A row's button: its accessible name starts with what it shows, then says which endpoint.
  button(text, endpointName, action) {
    const button = element("button", { type: "button", "aria-label": `${text}: ${endpointName}` }, text);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await action();
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  async sendTest(endpoint) {
    try {
      const sent = await postJson(`/webhooks/${endpoint.id}/test`, {});
      this.notices.say(`Test event ${sent.webhook_id} queued for ${endpoint.url}.`);
      this.deliveries.refreshIfShowing(endpoint.id);
    } catch (error) {
      this.notices.fail(`send a test to ${endpoint.url}`, error);
    }
  }

  async rotate(endpoint) {
    try {
      const rotated = await postJson(`/webhooks/${endpoint.id}/rotate-secret`, {});
      const until = rotated.previous_secret_expires_at
        ? ` The previous secret keeps signing until ${new Date(rotated.previous_secret_expires_at * 1000).toISOString()}.`
        : "";
      this.secret.show(`New signing secret of ${rotated.url}.${until}`, rotated.secret);
      this.notices.say(`Secret rotated for ${rotated.url}.`);
    } catch (error) {
      this.notices.fail(`rotate the secret of ${endpoint.url}`, error);
    }
  }

  async setEnabled(endpoint, enabled) {
    try {
      const updated = await patchJson(`/webhooks/${endpoint.id}`, { enabled });
      this.rows.querySelector(`tr[data-endpoint-id="${endpoint.id}"]`)?.replaceWith(this.row(updated));
      this.notices.say(`${updated.url} ${enabled ? "enabled" : "disabled"}.`);
      this.deliveries.endpointChanged(updated);
    } catch (error) {
      this.notices.fail(`${enabled ? "enable" : "disable"} ${endpoint.url}`, error);
    }
  }
}
