"""The console's webhooks panel, in headless Chromium against a local stack of its own.

Covers: adding an endpoint at one of the inbox's named receivers, its secret shown once (with a
copy button) and gone after a reload; a test event sent from the panel arriving at the receiver,
signed with that secret; rotating the secret; disabling and enabling; an API refusal shown as
such; the deliveries of an always-failing endpoint with their attempts, and, once the endpoint is
healthy, replaying one from its row and the rest with "every failed one since"; a name for every
control. No secret reaches the browser's storage or log, or the stack's logs.
"""

from __future__ import annotations

import pytest
import requests

from local.stack import LocalSystem
from tests.browser.conftest import chromium_problem
from tests.support.console_page import (
    add_endpoint,
    attempts_shown,
    delivery_row,
    endpoint_row,
    received,
    receiver,
    row_button,
    send_test,
    shown_secret,
    signed_with,
    stored_text,
    wait_for,
)
from tests.support.e2e_stack import stack_options


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory):
    """Overrides the browser tier's stack: a stage of its own, its logs kept to search for secrets."""
    problem = chromium_problem()
    if problem:
        pytest.skip(f"the browser tests need Chromium: {problem}")
    options = stack_options(stage="browser-webhooks", rekognition="moto", log_dir=tmp_path_factory.mktemp("logs"))
    with LocalSystem(options) as stack:
        yield stack


@pytest.fixture(scope="module")
def panel(browser, console_stack):
    browser.get(f"{console_stack.endpoints.api}/console")
    wait_for(browser, lambda: browser.find_element("id", "webhooks-status").text)
    return browser


def test_an_added_endpoint_shows_its_secret_once(panel, console_stack):
    url, _ = receiver(console_stack)
    add_endpoint(panel, url, "shown once", events=("image.recognized", "image.failed"))
    secret = shown_secret(panel)
    assert secret.startswith("whsec_")
    assert "you won't see it again" in panel.find_element("id", "secret-once").text
    assert "image.recognized, image.failed" in endpoint_row(panel, "shown once").text
    # The copy button puts the secret on the clipboard.
    panel.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": console_stack.endpoints.api, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    panel.find_element("id", "copy-secret").click()
    wait_for(panel, lambda: panel.find_element("id", "secret-copy-status").text == "Copied to the clipboard.")
    clipboard = panel.execute_async_script("navigator.clipboard.readText().then(arguments[0], () => arguments[0](''))")
    assert clipboard == secret
    assert secret not in stored_text(panel)
    # WHEN the page is loaded again THEN the endpoint is listed and its secret is nowhere on it.
    panel.refresh()
    wait_for(panel, lambda: endpoint_row(panel, "shown once"))
    assert not panel.find_element("id", "secret-once").is_displayed()
    assert panel.find_element("id", "secret-value").get_attribute("value") == ""
    assert secret not in panel.page_source and "whsec_" not in stored_text(panel)


def test_a_test_event_sent_from_the_panel_arrives_signed_with_the_secret_shown(panel, console_stack):
    url, name = receiver(console_stack)
    add_endpoint(panel, url, "gets a test")
    secret = shown_secret(panel)
    panel.find_element("id", "dismiss-secret").click()
    assert not panel.find_element("id", "secret-once").is_displayed()
    webhook_id = send_test(panel, "gets a test")
    [delivery] = wait_for(panel, lambda: received(console_stack, name, webhook_id))
    assert '"type":"webhook.test"' in delivery["body"] and signed_with(secret, delivery)


def test_a_rotated_secret_is_shown_once_and_signs_what_is_sent_next(panel, console_stack):
    url, name = receiver(console_stack)
    add_endpoint(panel, url, "rotated")
    first = shown_secret(panel)
    row_button(panel, "rotated", "Rotate secret").click()
    wait_for(panel, lambda: shown_secret(panel) != first)
    second = shown_secret(panel)
    assert second.startswith("whsec_")
    assert "previous secret keeps signing until" in panel.find_element("id", "secret-title").text
    webhook_id = send_test(panel, "rotated")
    [delivery] = wait_for(panel, lambda: received(console_stack, name, webhook_id))
    assert signed_with(second, delivery) and signed_with(first, delivery)  # both during the overlap
    panel.refresh()
    wait_for(panel, lambda: endpoint_row(panel, "rotated"))
    assert second not in panel.page_source and "whsec_" not in stored_text(panel)


def test_an_endpoint_is_disabled_and_enabled_from_the_panel(panel, console_stack):
    # GIVEN an endpoint with a delivered message, its deliveries shown
    url, _ = receiver(console_stack)
    add_endpoint(panel, url, "switched")
    webhook_id = send_test(panel, "switched")
    row_button(panel, "switched", "Deliveries").click()
    wait_for(panel, lambda: delivery_row(panel, webhook_id).get_attribute("data-status") == "delivered")
    # WHEN it is disabled THEN its reason shows, and a replay is refused with the API's error
    row_button(panel, "switched", "Disable").click()
    wait_for(panel, lambda: "disabled: disabled by its owner" in endpoint_row(panel, "switched").text)
    delivery_row(panel, webhook_id).find_element("css selector", "button").click()
    error = panel.find_element("id", "endpoint-deliveries-error")
    wait_for(panel, lambda: error.is_displayed())
    assert error.text.startswith("Could not replay: endpoint_disabled: ")
    assert "(disabled: no replay until it is enabled)" in panel.find_element("id", "endpoint-deliveries-heading").text
    # WHEN it is enabled again THEN it says so
    row_button(panel, "switched", "Enable").click()
    wait_for(panel, lambda: "enabled" in endpoint_row(panel, "switched").find_element("class name", "state").text)
    assert "Disable" in endpoint_row(panel, "switched").text
    assert panel.find_element("id", "endpoint-deliveries-heading").text == "Deliveries to switched"
    panel.find_element("id", "close-deliveries").click()


def test_a_refused_url_shows_the_api_error(panel):
    panel.find_element("id", "webhook-url").send_keys("https://203.0.113.7/hook")  # a documentation address
    panel.find_element("id", "webhook-description").send_keys("refused\n")  # Enter submits the form
    error = panel.find_element("id", "webhooks-error")
    wait_for(panel, lambda: error.is_displayed())
    assert "Could not add the endpoint: endpoint_url_not_public" in error.text
    assert endpoint_row(panel, "refused") is None
    panel.find_element("id", "webhook-form").find_element("id", "webhook-url").clear()
    panel.find_element("id", "webhook-description").clear()


def ended_failed(browser, webhook_id: str) -> bool:
    """Failed with no retry left: every try was spent."""
    row = delivery_row(browser, webhook_id)
    return row.get_attribute("data-status") == "failed" and row.get_attribute("data-waiting") == "false"


def test_failed_deliveries_are_shown_with_their_attempts_and_replayed_from_the_panel(panel, console_stack):
    # GIVEN an endpoint whose receiver fails every try, and two test events sent to it from the panel
    failing_url, failing = receiver(console_stack, "?fail=100")
    endpoint_id = add_endpoint(panel, failing_url, "always failing")
    panel.find_element("id", "dismiss-secret").click()
    first = send_test(panel, "always failing")
    second = send_test(panel, "always failing")
    # WHEN its failed deliveries are shown, THEN each message ended failed, each try listed
    row_button(panel, "always failing", "Deliveries").click()
    wait_for(panel, lambda: panel.find_element("id", "endpoint-deliveries-view").is_displayed())
    panel.find_element("id", "delivery-filter").send_keys("failed")
    wait_for(panel, lambda: ended_failed(panel, first) and ended_failed(panel, second), timeout=90)
    tries = received(console_stack, failing, first)
    assert tries and {d["status"] for d in tries} == {500}
    attempts = attempts_shown(panel, first)
    assert len(attempts) == len(tries) and all("HTTP 500" in a for a in attempts)
    assert "webhook.test" in delivery_row(panel, first).text
    # WHEN the endpoint points at a healthy receiver and the first message is replayed from its row
    healthy_url, healthy = receiver(console_stack)
    api = console_stack.endpoints.api
    patched = requests.patch(f"{api}/webhooks/{endpoint_id}", json={"url": healthy_url}, timeout=10)
    assert patched.status_code == 200, patched.text
    panel.find_element("id", "delivery-filter").send_keys("all")
    wait_for(panel, lambda: delivery_row(panel, first).find_element("css selector", "button").click() or True)
    # THEN the healthy receiver gets it once, with its webhook-id, and the panel shows it delivered
    wait_for(panel, lambda: delivery_row(panel, first).get_attribute("data-status") == "delivered", timeout=60)
    assert [d["status"] for d in received(console_stack, healthy, first)] == [204]
    assert "1 message queued again" in panel.find_element("id", "endpoint-deliveries-status").text
    assert "replay" in attempts_shown(panel, first)[-1]
    # WHEN every failed one since before the events is replayed THEN only the second is sent again
    since = panel.find_element("id", "replay-since")
    panel.execute_script(
        "const d = new Date(Date.now() - 600000), pad = (n) => String(n).padStart(2, '0');"
        "arguments[0].value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T`"
        " + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;",
        since,
    )
    panel.find_element("css selector", '#replay-since-form button[type="submit"]').click()
    wait_for(panel, lambda: delivery_row(panel, second).get_attribute("data-status") == "delivered", timeout=60)
    assert f"1 message queued again: {second}" in panel.find_element("id", "endpoint-deliveries-status").text
    assert [d["status"] for d in received(console_stack, healthy, second)] == [204]
    assert [d["status"] for d in received(console_stack, healthy, first)] == [204]


def test_every_control_of_the_panel_has_a_name(panel):
    # Inputs by their <label>, buttons by their text or aria-label that starts with it.
    unnamed = panel.execute_script(
        """
        const panel = document.querySelector("#webhooks-panel");
        const named = (c) => {
          const text = c.textContent.trim(), label = c.getAttribute("aria-label");
          return c.labels?.length > 0 || (label ? label.startsWith(text) : text.length > 0);
        };
        return [...panel.querySelectorAll("input, select, button")].filter((c) => !named(c)).map((c) => c.outerHTML);
        """
    )
    assert unnamed == []
    assert panel.find_elements("css selector", "#webhooks tbody button[aria-label^='Send test: ']")


def test_no_secret_reached_the_browser_log_or_the_stack_logs(panel, console_stack):
    entries = panel.get_log("browser")
    assert not [e for e in entries if "whsec_" in e["message"]]
    # Chromium reports every 4xx as a network error; the refused URL's 422 and the refused replay's
    # 409 are the ones expected.
    refusals = (
        "/webhooks - Failed to load resource: the server responded with a status of 422",
        "/replay - Failed to load resource: the server responded with a status of 409",
    )
    unexpected = [e for e in entries if e["level"] == "SEVERE" and not any(r in e["message"] for r in refusals)]
    assert unexpected == []
    logs = [p for p in console_stack.options.log_dir.rglob("*") if p.is_file()]
    assert logs and not [p.name for p in logs if "whsec_" in p.read_text(errors="replace")]
    # The API lists no secret either.
    listed = requests.get(f"{console_stack.endpoints.api}/webhooks", timeout=10).text
    assert "whsec_" not in listed and "shown once" in listed
