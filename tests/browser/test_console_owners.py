"""The web console with AUTH=cognito, in headless Chromium: it signs in (a local dev user), shows
only the signed-in owner's images and webhook endpoints, and deletes an image."""

from __future__ import annotations

import pytest

from local.paths import FIXTURES_DIR
from local.stack import LocalSystem
from tests.browser.conftest import chromium_problem
from tests.browser.test_console import card, card_text, upload_through_the_file_input
from tests.support.console_page import add_endpoint, endpoint_row, receiver, shown_secret, wait_for
from tests.support.e2e_stack import cognito_stack_options


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory):
    """Overrides the browser tier's stack: this one puts every route behind the JWT authorizer."""
    problem = chromium_problem()
    if problem:
        pytest.skip(f"the browser tests need Chromium: {problem}")
    endpoints = tmp_path_factory.mktemp("console-owners") / "endpoints.json"
    with LocalSystem(cognito_stack_options("browser-owners", endpoints)) as stack:
        yield stack


def sign_in_as(browser, user: str) -> None:
    wait_for(browser, lambda: browser.find_element("id", "auth-form").is_displayed())
    browser.find_element("css selector", f'#dev-sign-in button[data-user="{user}"]').click()
    wait_for(browser, lambda: browser.find_element("id", "signed-in-as").text.startswith("Signed in as"))
    assert f"{user}@example.test" in browser.find_element("id", "signed-in-as").text


def sign_out(browser) -> None:
    browser.find_element("id", "sign-out").click()


def test_each_dev_user_sees_only_its_own_images_and_deletes_one(browser, console_stack):
    browser.get(f"{console_stack.endpoints.api}/console")
    # GIVEN alice signed in, with an image of hers
    sign_in_as(browser, "alice")
    upload_through_the_file_input(browser, FIXTURES_DIR / "coffee.jpg")
    wait_for(browser, lambda: "DONE" in card_text(browser, "coffee.jpg"))
    # WHEN bob signs in instead, THEN he does not see it
    sign_out(browser)
    sign_in_as(browser, "bob")
    wait_for(browser, lambda: browser.find_element("id", "gallery-status").text == "No images yet.")
    assert card(browser, "coffee.jpg") is None
    # WHEN alice comes back and deletes it, THEN it leaves her gallery and stays gone after a reload
    sign_out(browser)
    sign_in_as(browser, "alice")
    wait_for(browser, lambda: card(browser, "coffee.jpg") is not None)
    card(browser, "coffee.jpg").find_element("css selector", "button").click()
    wait_for(browser, lambda: browser.find_element("id", "detail").is_displayed())
    browser.find_element("id", "delete-image").click()
    wait_for(browser, lambda: card(browser, "coffee.jpg") is None)
    browser.refresh()
    wait_for(browser, lambda: browser.find_element("id", "gallery-status").text == "No images yet.")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    # The 401s before each sign-in are the API's answer to no token, which the page then asks for.
    assert [e for e in errors if "401" not in e["message"]] == []


def test_each_dev_user_sees_only_its_own_webhook_endpoints(browser, console_stack):
    browser.get(f"{console_stack.endpoints.api}/console")
    browser.execute_script("sessionStorage.clear()")  # signed out, whoever an earlier test left signed in
    browser.refresh()
    # GIVEN alice signed in, with an endpoint she just added and its secret on the screen
    sign_in_as(browser, "alice")
    url, _ = receiver(console_stack)
    add_endpoint(browser, url, "alice's receiver")
    secret = shown_secret(browser)
    # WHEN bob signs in instead, THEN alice's secret is gone from the page and her endpoint is not his
    sign_out(browser)
    assert not browser.find_element("id", "secret-once").is_displayed() and secret not in browser.page_source
    sign_in_as(browser, "bob")
    wait_for(browser, lambda: browser.find_element("id", "webhooks-status").text == "No webhook endpoints yet.")
    assert endpoint_row(browser, "alice's receiver") is None
    # WHEN alice comes back THEN her endpoint is listed, without its secret
    sign_out(browser)
    sign_in_as(browser, "alice")
    wait_for(browser, lambda: endpoint_row(browser, "alice's receiver") is not None)
    assert secret not in browser.page_source
