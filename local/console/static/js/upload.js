// Adding images: files go straight to S3 through a presigned POST (POST /uploads), URLs through POST /images.

import { postJson } from "./api.js";

const TYPES = new Set(["image/jpeg", "image/png"]);

export async function uploadFile(file) {
  if (!TYPES.has(file.type)) {
    throw new Error(`${file.name}: only JPEG and PNG images can be added (this file is ${file.type || "of an unknown type"}).`);
  }
  const slot = await postJson("/uploads", { name: file.name, content_type: file.type });
  const form = new FormData();
  for (const [name, value] of Object.entries(slot.upload.fields)) form.append(name, value);
  form.append("file", file);
  const response = await fetch(slot.upload.url, { method: "POST", body: form });
  if (!response.ok) {
    const text = await response.text();
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? response.statusText;
    throw new Error(`${file.name}: the upload was refused (${response.status}): ${message}`);
  }
  return { image_id: slot.image_id, name: file.name, status: "PENDING", labels: [] };
}

export async function addByUrl(url, name) {
  const accepted = await postJson("/images", name ? { url, name } : { url });
  return { ...accepted, labels: [] };
}
