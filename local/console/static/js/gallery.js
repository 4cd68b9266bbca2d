// The gallery: newest first, a label filter, paging by cursor, and statuses that update live.

import { getJson, imageSource } from "./api.js";

const PAGE_SIZE = 12;
const POLL_MS = 1500;
const FINAL = new Set(["DONE", "FAILED"]);

export class Gallery {
  constructor(list, moreButton, status, onOpen) {
    this.list = list;
    this.moreButton = moreButton;
    this.status = status;
    this.onOpen = onOpen;
    this.label = "";
    this.cursor = null;
    this.cards = new Map();
    this.pending = new Set();
    setInterval(() => this.refreshPending(), POLL_MS);
  }

  async reload(label = this.label) {
    this.label = label;
    this.cursor = null;
    this.cards.clear();
    this.pending.clear();
    this.list.replaceChildren();
    await this.loadMore();
  }

  async loadMore() {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.label) query.set("label", this.label);
    if (this.cursor) query.set("cursor", this.cursor);
    try {
      const page = await getJson(`/images?${query}`);
      for (const image of page.items) this.show(image, false);
      this.cursor = page.next_cursor;
      this.moreButton.hidden = !this.cursor;
      const shown = this.cards.size;
      this.status.textContent = shown
        ? `${shown} image${shown === 1 ? "" : "s"}${this.label ? ` labelled “${this.label}”` : ""}`
        : this.label ? `No image labelled “${this.label}” yet.` : "No images yet.";
    } catch (error) {
      this.status.textContent = `Could not list images: ${error.message}`;
    }
  }

  // A new image goes first; a known one is redrawn in place.
  show(image, first = true) {
    let item = this.cards.get(image.image_id);
    if (!item) {
      item = document.createElement("li");
      item.dataset.imageId = image.image_id;
      this.cards.set(image.image_id, item);
      if (first) this.list.prepend(item);
      else this.list.append(item);
    }
    const before = item.dataset.status;
    if (before !== image.status) this.draw(item, image);
    if (FINAL.has(image.status)) this.pending.delete(image.image_id);
    else this.pending.add(image.image_id);
  }

  // A deleted image leaves the page.
  remove(imageId) {
    this.cards.get(imageId)?.remove();
    this.cards.delete(imageId);
    this.pending.delete(imageId);
    const shown = this.cards.size;
    this.status.textContent = `${shown} image${shown === 1 ? "" : "s"}`;
  }

  draw(item, image) {
    item.dataset.status = image.status;
    const card = document.createElement("button");
    card.type = "button";
    card.className = "card";
    card.addEventListener("click", () => this.onOpen(image.image_id));
    const picture = document.createElement("div");
    picture.className = "placeholder";
    picture.textContent = image.status === "FAILED" ? "no image" : "…";
    if (image.status === "DONE") {
      const img = document.createElement("img");
      img.alt = image.name;
      imageSource(image.image_id).then((src) => { img.src = src; }, () => {});
      card.append(img);
    } else {
      card.append(picture);
    }
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = image.name;
    const status = document.createElement("span");
    status.className = `status ${image.status}`;
    status.textContent = image.status;
    card.append(name, status);
    if (image.status === "DONE") {
      const labels = document.createElement("span");
      labels.className = "labels";
      labels.textContent = (image.labels || []).slice(0, 4).map((l) => l.name).join(", ") || "no labels";
      card.append(labels);
    }
    if (image.error) {
      const error = document.createElement("span");
      error.className = "error";
      error.textContent = `${image.error.code}: ${image.error.message}`;
      card.append(error);
    }
    card.setAttribute("aria-label", `${image.name}, ${image.status}. Show details`);
    item.replaceChildren(card);
  }

  async refreshPending() {
    for (const imageId of [...this.pending]) {
      try {
        this.show(await getJson(`/images/${imageId}`));
      } catch {
        // not there yet (a slot just opened) or a brief failure: the next round asks again
      }
    }
  }
}
