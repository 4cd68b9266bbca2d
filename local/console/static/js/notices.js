// What a panel tells its user: progress in a polite status line, and an API's refusal in an
// alert that names what failed, the error's code (e.g. endpoint_url_not_https) and its message.

export class Notices {
  constructor(status, alert) {
    this.status = status;
    this.alert = alert;
  }

  say(text) {
    this.alert.hidden = true;
    this.status.textContent = text;
  }

  fail(doing, error) {
    this.status.textContent = "";
    this.alert.textContent = `Could not ${doing}: ${error.code ? `${error.code}: ` : ""}${error.message}`;
    this.alert.hidden = false;
  }
}
