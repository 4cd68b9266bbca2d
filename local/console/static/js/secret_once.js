// A signing secret, shown the one time the API returns it (on adding an endpoint or rotating its
// secret). It lives in this box's input only: never in storage, never in the browser's log, and
// gone on dismissing, signing out or leaving the page. The API cannot show it again.

export class SecretOnce {
  constructor(box) {
    this.box = box;
    this.title = box.querySelector("#secret-title");
    this.value = box.querySelector("#secret-value");
    this.copyStatus = box.querySelector("#secret-copy-status");
    box.querySelector("#copy-secret").addEventListener("click", () => this.copy());
    box.querySelector("#dismiss-secret").addEventListener("click", () => this.hide());
  }

  show(title, secret) {
    this.title.textContent = title;
    this.value.value = secret;
    this.copyStatus.textContent = "";
    this.box.hidden = false;
    this.value.focus();
    this.value.select();
  }

  hide() {
    this.value.value = "";
    this.copyStatus.textContent = "";
    this.box.hidden = true;
  }

  async copy() {
    try {
      await navigator.clipboard.writeText(this.value.value);
      this.copyStatus.textContent = "Copied to the clipboard.";
    } catch {
      // No clipboard access (an insecure origin, or permission refused): the text is selected instead.
      this.value.focus();
      this.value.select();
      this.copyStatus.textContent = "The browser did not allow copying: the secret is selected, copy it with Ctrl+C.";
    }
  }
}
