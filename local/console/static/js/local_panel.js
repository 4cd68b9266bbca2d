// Local stack only: the recognition features on, the webhook deliveries with their signature
// check, and the dead-letter queues with their counts and a redrive button.

import { local } from "./api.js";

export class LocalPanel {
  constructor(panel) {
    this.panel = panel;
    this.deliveries = panel.querySelector("#deliveries tbody");
    this.queues = panel.querySelector("#dead-letters");
    this.status = panel.querySelector("#local-status");
    panel.hidden = false;
    this.showFeatures(panel.querySelector("#features"));
    this.refresh();
    setInterval(() => this.refresh(), 3000);
  }

  // Which recognition features this stack runs, and how to turn the others on: they are chosen
  // when the stack starts (FEATURES, serverless.yml's recognitionFeatures), not from here.
  async showFeatures(line) {
    try {
      const { on, off } = await local("/_local/features");
      line.textContent = `Recognition features on: ${on.join(", ")}.` + (off.length
        ? ` Off: ${off.join(", ")}; to turn them on, restart with make local FEATURES=${[...on, ...off].join(",")}`
        : "");
    } catch (error) {
      line.textContent = `Recognition features unknown: ${error.message}`;
    }
  }

  async refresh() {
    try {
      const [deliveries, queues] = await Promise.all([local("/_local/deliveries"), local("/_local/dead-letters")]);
      this.deliveries.replaceChildren(...deliveries.slice(0, 20).map((d) => {
        const row = document.createElement("tr");
        for (const text of [d.image_name || d.image_id, d.event_type, d.verified ? "verified" : "INVALID", String(d.status)]) {
          const cell = document.createElement("td");
          cell.textContent = text;
          row.append(cell);
        }
        return row;
      }));
      this.queues.replaceChildren(...queues.map((q) => this.queueItem(q)));
    } catch (error) {
      this.status.textContent = `Local routes unavailable: ${error.message}`;
    }
  }

  queueItem(queue) {
    const item = document.createElement("li");
    item.append(`${queue.name}: ${queue.count} message${queue.count === 1 ? "" : "s"} `);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Redrive ${queue.name}`;
    button.disabled = queue.count === 0;
    button.addEventListener("click", async () => {
      const result = await local(`/_local/redrive?queue=${encodeURIComponent(queue.name)}`, "POST");
      this.status.textContent = `${result.moved} message(s) moved back from ${queue.name}.`;
      this.refresh();
    });
    item.append(button);
    return item;
  }
}
