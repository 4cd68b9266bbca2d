"""Driving the web console in Chromium: waiting on the page, and the webhooks panel's steps.

Shared by the browser tests (tests/browser); the fixtures that start the stack and Chromium are in
tests/browser/conftest.py.
"""

from __future__ import annotations

import uuid

import standardwebhooks.webhooks as standard

from local.stack import LocalSystem

WAIT_SECONDS = 45


def wait_for(browser, condition, timeout: float = WAIT_SECONDS):
    """The condition's first truthy value; an element not there yet, or redrawn, is asked again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        browser, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(lambda _: condition())


def receiver(stack: LocalSystem, query: str = "") -> tuple[str, str]:
    """A fresh named receiver of the inbox: (the URL to register, its name)."""
    name = f"r-{uuid.uuid4().hex[:10]}"
    return f"{stack.endpoints.webhook_inbox.rstrip('/')}/r/{name}{query}", name


def received(stack: LocalSystem, name: str, webhook_id: str) -> list[dict]:
    return [d for d in stack.inbox.receivers.deliveries(name) if d["headers"].get("webhook-id") == webhook_id]


def signed_with(secret: str, delivery: dict) -> bool:
    try:
        standard.Webhook(secret).verify(delivery["body"], delivery["headers"])
    except standard.WebhookVerificationError:
        return False
    return True


def add_endpoint(browser, url: str, description: str, events: tuple[str, ...] | None = None) -> str:
    """Adds an endpoint through the form; its id once its row shows."""
    browser.find_element("id", "webhook-url").send_keys(url)
    browser.find_element("id", "webhook-description").send_keys(description)
    if events is not None:
        for box in browser.find_elements("css selector", 'input[name="webhook-events"]'):
            if box.is_selected() != (box.get_attribute("value") in events):
                box.click()
    browser.find_element("css selector", '#webhook-form button[type="submit"]').click()
    row = wait_for(browser, lambda: endpoint_row(browser, description))
    return row.get_attribute("data-endpoint-id")


def endpoint_row(browser, description: str):
    for row in browser.find_elements("css selector", "#webhooks tbody tr"):
        if description in row.text:
            return row
    return None


def row_button(browser, description: str, text: str):
    return next(b for b in endpoint_row(browser, description).find_elements("tag name", "button") if b.text == text)


def shown_secret(browser) -> str:
    wait_for(browser, lambda: browser.find_element("id", "secret-once").is_displayed())
    return browser.find_element("id", "secret-value").get_attribute("value")


def stored_text(browser) -> str:
    return browser.execute_script(
        "const all = (s) => Object.keys(s).map((k) => k + '=' + s.getItem(k)).join(' ');"
        "return all(localStorage) + ' ' + all(sessionStorage);"
    )


def send_test(browser, description: str) -> str:
    """Sends a test event from the endpoint's row; the webhook-id the panel says it queued."""
    row_button(browser, description, "Send test").click()
    status = browser.find_element("id", "webhooks-status")
    said = wait_for(browser, lambda: status.text.startswith("Test event") and status.text)
    return said.split()[2]


def delivery_row(browser, webhook_id: str):
    return browser.find_element("css selector", f'#endpoint-deliveries tr[data-webhook-id="{webhook_id}"]')


def attempts_shown(browser, webhook_id: str) -> list[str]:
    """The attempts listed in a message's row, once its list is opened."""

    def opened() -> list[str]:
        details = delivery_row(browser, webhook_id).find_element("tag name", "details")
        if not details.get_attribute("open"):
            details.find_element("tag name", "summary").click()
        return [li.text for li in details.find_elements("css selector", "ol.attempts li") if li.text]

    return wait_for(browser, opened)
