// One endpoint's delivery log (GET /webhooks/{id}/deliveries): newest first, by status, paged by
// cursor, each message with its attempts and next retry; a message can be sent again
// (POST /webhooks/{id}/replay), one at a time or every failed and skipped one since a time.

import { getJson, postJson } from "./api.js";
import { element, timeElement } from "./dom.js";
import { Notices } from "./notices.js";

const PAGE_SIZE = 20;
const POLL_MS = 2000;

function attemptText(attempt) {
  const outcome = attempt.status_code ? `HTTP ${attempt.status_code}` : "no answer";
  const parts = [outcome, `${Math.round(attempt.duration_ms ?? 0)} ms`];
  if (attempt.error && attempt.error !== outcome) parts.push(attempt.error);
  if (attempt.replay) parts.push("replay");
  return parts.join(" · ");
}

function attemptsCell(attempts) {
  if (!attempts?.length) return element("td", {}, "none yet");
  const list = element("ol", { className: "attempts" }, ...attempts.map((a) => element("li", {}, timeElement(a.at), " ", attemptText(a))));
  return element("td", {}, element("details", {}, element("summary", {}, `${attempts.length} attempt${attempts.length === 1 ? "" : "s"}`), list));
}

export class EndpointDeliveries {
  constructor(view) {
    this.view = view;
    this.heading = view.querySelector("#endpoint-deliveries-heading");
    this.rows = view.querySelector("#endpoint-deliveries tbody");
    this.filter = view.querySelector("#delivery-filter");
    this.more = view.querySelector("#more-deliveries");
    this.notices = new Notices(view.querySelector("#endpoint-deliveries-status"), view.querySelector("#endpoint-deliveries-error"));
    this.sinceForm = view.querySelector("#replay-since-form");
    this.endpoint = null;
    this.cursor = null;
    this.asked = 0;
    this.filter.addEventListener("change", () => this.reload());
    this.more.addEventListener("click", () => this.load());
    view.querySelector("#refresh-deliveries").addEventListener("click", () => this.reload());
    view.querySelector("#close-deliveries").addEventListener("click", () => this.close());
    this.sinceForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.replaySince();
    });
    // While a message waits (queued, or a retry scheduled), the first page follows it; a page
    // the user paged past stays as it is.
    setInterval(() => {
      if (this.endpoint && !this.cursorUsed && this.rows.querySelector('tr[data-waiting="true"]')) this.reload(false);
    }, POLL_MS);
  }

  async open(endpoint) {
    if (this.endpoint?.id !== endpoint.id) this.rows.replaceChildren();
    this.endpoint = endpoint;
    this.view.hidden = false;
    this.showHeading();
    await this.reload();
    this.heading.focus();
  }

  close() {
    this.asked++; // an answer still on its way is not shown
    this.endpoint = null;
    this.view.hidden = true;
    this.rows.replaceChildren();
  }

  refreshIfShowing(endpointId) {
    if (this.endpoint?.id === endpointId) this.reload(false);
  }

  // Disabling or enabling the endpoint shown: a disabled one takes no replay (409) until enabled.
  endpointChanged(endpoint) {
    if (this.endpoint?.id !== endpoint.id) return;
    this.endpoint = endpoint;
    this.showHeading();
  }

  showHeading() {
    const { description, url, enabled } = this.endpoint;
    this.heading.textContent = `Deliveries to ${description || url}${enabled ? "" : " (disabled: no replay until it is enabled)"}`;
  }

  async reload(announce = true) {
    this.cursor = null;
    this.cursorUsed = false;
    await this.load(true, announce);
  }

  async load(first = false, announce = true) {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.filter.value) query.set("status", this.filter.value);
    if (!first && this.cursor) {
      query.set("cursor", this.cursor);
      this.cursorUsed = true;
    }
    const asked = ++this.asked;
    try {
      const page = await getJson(`/webhooks/${endpoint.id}/deliveries?${query}`);
      // An answer overtaken by a later question (another endpoint or filter) is dropped.
      if (asked !== this.asked) return;
      const rows = page.items.map((delivery) => this.row(delivery));
      if (first) this.rows.replaceChildren(...rows);
      else this.rows.append(...rows);
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      if (announce) this.notices.say(this.summary(this.rows.children.length));
    } catch (error) {
      this.notices.fail("list the deliveries", error);
    }
  }

  // A filtered page may come back short, even empty, with a cursor: the log read its budget
  // before finding a full page, and more may lie further back.
  summary(shown) {
    const which = this.filter.value ? ` ${this.filter.value}` : "";
    const count = shown ? `${shown} message${shown === 1 ? "" : "s"}${which}` : `No${which} messages`;
    if (this.cursor) return `${count} so far; load more to look further back.`;
    return shown || which ? count : "No deliveries yet.";
  }

  // A message's row; the one shown already when nothing changed, so that a refresh leaves what
  // the user is reading (an opened list of attempts, the focus) where it is.
  row(delivery) {
    const drawn = JSON.stringify(delivery);
    const shown = this.rows.querySelector(`tr[data-webhook-id="${CSS.escape(delivery.webhook_id)}"]`);
    if (shown?.dataset.drawn === drawn) return shown;
    const row = this.draw(delivery);
    row.dataset.drawn = drawn;
    if (shown?.querySelector("details")?.open) row.querySelector("details")?.setAttribute("open", "");
    return row;
  }

  draw(delivery) {
    const waiting = delivery.status === "pending" || Boolean(delivery.next_retry_at);
    const row = element("tr", { "data-webhook-id": delivery.webhook_id, "data-status": delivery.status, "data-waiting": String(waiting) });
    const status = element("td", {}, element("span", { className: `delivery-status ${delivery.status}` }, delivery.status));
    if (delivery.reason) status.append(element("div", { className: "muted" }, delivery.reason));
    const action = element("td");
    if (delivery.status !== "pending") {
      const replay = element("button", { type: "button", "aria-label": `Replay ${delivery.webhook_id}` }, "Replay");
      replay.addEventListener("click", () => this.replay({ webhook_id: delivery.webhook_id }, replay));
      action.append(replay);
    }
    row.append(
      element("td", {}, element("code", {}, delivery.webhook_id)),
      element("td", {}, delivery.type),
      status,
      element("td", {}, timeElement(delivery.created_at)),
      attemptsCell(delivery.attempts),
      element("td", {}, timeElement(delivery.next_retry_at)),
      action,
    );
    return row;
  }

  async replay(body, button) {
    if (button) button.disabled = true;
    try {
      const replayed = await postJson(`/webhooks/${this.endpoint.id}/replay`, body);
      await this.reload(false);
      this.notices.say(`${replayed.replayed} message${replayed.replayed === 1 ? "" : "s"} queued again: ${replayed.webhook_ids.join(", ") || "none"}.`);
    } catch (error) {
      if (button) button.disabled = false;
      this.notices.fail("replay", error);
    }
  }

  // Every failed or skipped message queued at or after the given time (at most 1000 a call).
  replaySince() {
    const local = this.sinceForm.querySelector("#replay-since").value;
    if (!local) return;
    this.replay({ since: new Date(local).toISOString().replace(/\.\d+Z$/, "Z") });
  }
}
