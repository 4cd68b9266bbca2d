// One image in detail: labels with confidence bars, boxes over the image (label instances and
// faces), text, dominant colors and moderation labels when present, and the error when it FAILED.

import { deleteImage, getJson, imageSource } from "./api.js";
import { element } from "./dom.js";

function percent(value) {
  return `${Math.max(0, Math.min(100, value * 100)).toFixed(2)}%`;
}

function box(boundingBox, kind, caption) {
  const div = element("div", { className: `box ${kind}`, "data-kind": kind }, element("span", {}, caption));
  div.style.left = percent(boundingBox.Left ?? 0);
  div.style.top = percent(boundingBox.Top ?? 0);
  div.style.width = percent(boundingBox.Width ?? 0);
  div.style.height = percent(boundingBox.Height ?? 0);
  return div;
}

function labelList(labels) {
  const list = element("ul", { className: "labels-list", "aria-label": "Labels" });
  for (const label of labels) {
    const bar = element("div", { className: "confidence", role: "img", "aria-label": `${label.confidence.toFixed(1)} percent` }, element("div"));
    bar.firstChild.style.width = `${label.confidence}%`;
    list.append(element("li", { className: "bar-row" }, element("span", {}, label.name), bar, element("span", {}, `${label.confidence.toFixed(1)}%`)));
  }
  return list;
}

function section(title, ...content) {
  return element("section", {}, element("h3", {}, title), ...content);
}

export class Detail {
  constructor(panel, onDeleted = () => {}) {
    this.panel = panel;
    this.onDeleted = onDeleted;
    this.heading = panel.querySelector("#detail-heading");
    this.status = panel.querySelector("#detail-status");
    this.figure = panel.querySelector("#detail-figure");
    this.facts = panel.querySelector("#detail-facts");
    this.imageId = null;
    panel.querySelector("#close-detail").addEventListener("click", () => this.close());
    panel.querySelector("#delete-image").addEventListener("click", () => this.delete());
    panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.close(); });
  }

  async open(imageId) {
    this.imageId = imageId;
    this.panel.hidden = false;
    const image = await getJson(`/images/${imageId}`);
    this.render(image);
    this.heading.focus();
  }

  async delete() {
    const imageId = this.imageId;
    if (!imageId) return;
    try {
      await deleteImage(imageId);
    } catch (error) {
      if (error.status !== 404) {
        this.status.textContent = `Could not delete: ${error.message}`;
        return;
      }
    }
    this.close();
    this.onDeleted(imageId);
  }

  close() {
    this.panel.hidden = true;
    this.imageId = null;
    document.querySelector(`[data-image-id="${this.returnTo}"] button`)?.focus();
  }

  render(image) {
    this.returnTo = image.image_id;
    this.heading.textContent = image.name;
    this.status.textContent = `${image.status} · ${image.width ?? "?"}×${image.height ?? "?"} px · ${image.content_type}`;
    this.figure.replaceChildren();
    this.facts.replaceChildren();
    if (image.status === "DONE" || image.status === "PENDING") {
      const img = element("img", { alt: `${image.name}: ${(image.labels || []).slice(0, 3).map((l) => l.name).join(", ") || "image"}` });
      imageSource(image.image_id).then((src) => { img.src = src; }, () => {});
      this.figure.append(img);
      for (const label of image.labels || []) {
        for (const instance of label.instances || []) this.figure.append(box(instance.bounding_box, "instance", label.name));
      }
      for (const face of image.details?.faces || []) this.figure.append(box(face.bounding_box, "face", "Face"));
    }
    if (image.error) {
      this.facts.append(element("div", { className: "error-box", role: "alert" }, element("strong", {}, image.error.code), ": ", image.error.message));
    }
    if (image.labels?.length) this.facts.append(section("Labels", labelList(image.labels)));
    const details = image.details || {};
    if (details.faces?.length) this.facts.append(section("Faces", element("p", {}, `${details.faces.length} face(s), boxed in green`)));
    if (details.text?.length) this.facts.append(section("Text", element("ul", {}, ...details.text.map((line) => element("li", {}, line)))));
    const colors = details.image_properties?.dominant_colors || [];
    if (colors.length) {
      const swatches = colors.map((c) => {
        const swatch = element("span", { className: "swatch", "aria-hidden": "true" });
        swatch.style.background = c.hex;
        return element("li", {}, swatch, `${c.name ?? ""} ${c.hex} (${(c.percent ?? 0).toFixed(1)}%)`);
      });
      this.facts.append(section("Dominant colors", element("ul", { className: "swatches" }, ...swatches)));
    }
    if (details.moderation?.length) {
      this.facts.append(section("Moderation labels", labelList(details.moderation)));
    }
  }

  // Called by the gallery's live updates, so an open detail follows its image to DONE or FAILED.
  update(image) {
    if (this.imageId === image.image_id && !this.panel.hidden) this.render(image);
  }
}
