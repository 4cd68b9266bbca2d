// Wires the page together. No build step: the browser loads these modules as committed.

import { local, localToken, signedInAs, signOut, useToken, whenUnauthorized } from "./api.js";
import { Detail } from "./detail.js";
import { EndpointDeliveries } from "./endpoint_deliveries.js";
import { Gallery } from "./gallery.js";
import { LocalPanel } from "./local_panel.js";
import { SecretOnce } from "./secret_once.js";
import { addByUrl, uploadFile } from "./upload.js";
import { WebhooksPanel } from "./webhooks.js";

const $ = (selector) => document.querySelector(selector);
const addStatus = $("#add-status");

const detail = new Detail($("#detail"), (imageId) => gallery.remove(imageId));
const gallery = new Gallery($("#gallery"), $("#more"), $("#gallery-status"), (id) => detail.open(id));
const show = gallery.show.bind(gallery);
gallery.show = (image, first) => {
  show(image, first);
  detail.update(image);
};
const webhooks = new WebhooksPanel(
  $("#webhooks-panel"),
  new SecretOnce($("#secret-once")),
  new EndpointDeliveries($("#endpoint-deliveries-view")),
);

// With auth on, the page signs in: a pasted token, or on the local stack a dev user (alice, bob).
// Every list and image it then shows is that owner's only: the API answers nothing else.
const authForm = $("#auth-form");
function showSignedIn() {
  const who = signedInAs();
  $("#signed-in").hidden = !who;
  $("#signed-in-as").textContent = who ? `Signed in as ${who}` : "";
}
function signIn(token, name = "") {
  useToken(token, name);
  authForm.hidden = true;
  showSignedIn();
  gallery.reload();
  webhooks.clear();
  webhooks.reload();
}
whenUnauthorized(() => {
  authForm.hidden = false;
  $("#dev-sign-in").hidden = !localToken;
  $("#auth-token").focus();
});
authForm.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#auth-token").value.trim());
});
for (const button of document.querySelectorAll("#dev-sign-in button")) {
  button.addEventListener("click", async () => {
    try {
      const signedIn = await local(`/_local/sign-in?user=${button.dataset.user}`, "POST");
      signIn(signedIn.token, signedIn.user);
    } catch (error) {
      $("#gallery-status").textContent = `Could not sign in: ${error.message}`;
    }
  });
}
$("#sign-out").addEventListener("click", () => {
  signOut();
  showSignedIn();
  detail.close();
  gallery.reload();
  webhooks.clear();
  webhooks.reload();
});
showSignedIn();

async function addFiles(files) {
  for (const file of files) {
    addStatus.textContent = `Uploading ${file.name}…`;
    try {
      gallery.show(await uploadFile(file));
      addStatus.textContent = `${file.name} uploaded; recognition is running.`;
    } catch (error) {
      addStatus.textContent = error.message;
    }
  }
}

const dropZone = $("#drop-zone");
const fileInput = $("#file-input");
fileInput.addEventListener("change", () => { addFiles([...fileInput.files]); fileInput.value = ""; });
dropZone.addEventListener("keydown", (event) => {
  if (event.target === dropZone && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    fileInput.click();
  }
});
dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("over"); });
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("over");
  addFiles([...event.dataTransfer.files]);
});

$("#url-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  addStatus.textContent = "Fetching the URL…";
  try {
    gallery.show(await addByUrl($("#url-input").value.trim(), $("#name-input").value.trim()));
    addStatus.textContent = "Accepted; recognition is running.";
  } catch (error) {
    addStatus.textContent = `Refused: ${error.code}: ${error.message}`;
  }
});

$("#filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  gallery.reload($("#label-filter").value.trim());
});
$("#clear-filter").addEventListener("click", () => {
  $("#label-filter").value = "";
  gallery.reload("");
});
$("#more").addEventListener("click", () => gallery.loadMore());

if (localToken) new LocalPanel($("#local-panel"));
gallery.reload("");
webhooks.reload();
