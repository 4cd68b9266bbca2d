"""The web console, driven in headless Chromium against a local stack of its own.

Covers: an upload through the file input until its labels show; boxes drawn over a face image; the
text read from a sign; the features the stack runs with;
an image added by URL, and a URL that fails; the label filter; a refused file and its error;
paging by cursor; keyboard use; and no error in the browser's console. A screenshot of the
console, with an endpoint's deliveries open in the webhooks panel, goes to the test's directory,
or to the path in CONSOLE_SCREENSHOT (docs/console.png is made that way). The webhooks panel's
own tests are in test_console_webhooks.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from local.paths import FIXTURES_DIR
from tests.support.console_page import (
    add_endpoint,
    attempts_shown,
    delivery_row,
    receiver,
    row_button,
    send_test,
    wait_for,
)
from tests.support.hostile_images import noise_png

DOCS_WIDTH = 960  # docs/console.png's width


@pytest.fixture(scope="module")
def console(browser, console_stack):
    browser.get(f"{console_stack.endpoints.api}/console")
    wait_for(browser, lambda: browser.find_element("id", "gallery-status").text)
    return browser


def card(browser, name: str):
    for item in browser.find_elements("css selector", "#gallery li"):
        if item.find_element("css selector", ".name").text == name:
            return item
    return None


def card_text(browser, name: str) -> str:
    found = card(browser, name)
    return found.text if found is not None else ""


def upload_through_the_file_input(browser, path) -> None:
    browser.find_element("id", "file-input").send_keys(str(path))


def test_an_image_uploaded_through_the_file_input_shows_its_labels(console):
    upload_through_the_file_input(console, FIXTURES_DIR / "chelsea.jpg")
    wait_for(console, lambda: "DONE" in card_text(console, "chelsea.jpg"))
    assert "Cat" in card(console, "chelsea.jpg").find_element("css selector", ".labels").text
    thumbnail = card(console, "chelsea.jpg").find_element("css selector", "img")
    assert thumbnail.get_attribute("alt") == "chelsea.jpg"
    wait_for(console, lambda: console.execute_script("return arguments[0].naturalWidth", thumbnail) > 0)


def test_a_face_image_gets_boxes_drawn_over_it(console):
    upload_through_the_file_input(console, FIXTURES_DIR / "astronaut.jpg")
    wait_for(console, lambda: "DONE" in card_text(console, "astronaut.jpg"))
    card(console, "astronaut.jpg").find_element("css selector", "button").click()
    wait_for(console, lambda: console.find_elements("css selector", "#detail-figure .box.face"))
    faces = console.find_elements("css selector", "#detail-figure .box.face")
    figure = console.find_element("css selector", "#detail-figure img")
    wait_for(console, lambda: figure.size["width"] > 0)
    assert faces and all(0 < face.size["width"] <= figure.size["width"] for face in faces)
    assert console.find_elements("css selector", "#detail-facts .labels-list li")
    assert console.switch_to.active_element.get_attribute("id") == "detail-heading"  # focus moved there


def test_a_sign_shows_the_text_read_from_it(console):
    upload_through_the_file_input(console, FIXTURES_DIR / "sign.png")
    wait_for(console, lambda: "DONE" in card_text(console, "sign.png"))
    card(console, "sign.png").find_element("css selector", "button").click()
    wait_for(console, lambda: "MAIN STREET" in console.find_element("id", "detail-facts").text)
    assert "Exit 42 open" in console.find_element("id", "detail-facts").text


def test_the_local_panel_says_which_features_are_on(console, console_stack):
    line = wait_for(console, lambda: console.find_element("id", "features").text)
    every = sorted(console_stack.options.recognition_features.split(","))
    assert len(every) == 5 and line == f"Recognition features on: {', '.join(every)}."


def test_an_image_added_by_url_goes_through_post_images(console, console_stack):
    console.find_element("id", "url-input").send_keys(f"{console_stack.endpoints.fixtures}/coffee.jpg")
    console.find_element("id", "name-input").send_keys("coffee by url\n")  # Enter submits the form
    wait_for(console, lambda: "DONE" in card_text(console, "coffee by url"))
    missing = console.find_element("id", "url-input")
    missing.clear()
    missing.send_keys(f"{console_stack.endpoints.fixtures}/nope.jpg\n")
    wait_for(console, lambda: "remote_client_error" in console.find_element("id", "add-status").text)


def test_the_label_filter_shows_only_images_with_that_label(console):
    box = console.find_element("id", "label-filter")
    box.clear()
    box.send_keys("cat\n")
    wait_for(console, lambda: "labelled" in console.find_element("id", "gallery-status").text)
    names = [e.text for e in console.find_elements("css selector", "#gallery .name")]
    assert "chelsea.jpg" in names and "astronaut.jpg" not in names and "coffee by url" not in names
    console.find_element("id", "clear-filter").click()
    wait_for(console, lambda: card(console, "astronaut.jpg") is not None)


def test_a_refused_file_shows_its_error(console, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<html><body>not an image</body></html>")
    upload_through_the_file_input(console, fake)
    wait_for(console, lambda: "FAILED" in card_text(console, "fake.png"))
    assert "unsupported_media_type" in card(console, "fake.png").find_element("css selector", ".error").text

    gif = tmp_path / "anim.gif"
    gif.write_bytes(b"GIF89a" + bytes(32))
    upload_through_the_file_input(console, gif)
    wait_for(console, lambda: "only JPEG and PNG" in console.find_element("id", "add-status").text)


def test_the_gallery_pages_by_cursor(console, console_stack):
    api = console_stack.endpoints.api
    for index in range(12):
        response = requests.post(
            f"{api}/images?name=page-{index:02}.png",
            data=noise_png(8, seed=index),
            timeout=10,
            headers={"content-type": "image/png"},
        )
        assert response.status_code == 202
    console.refresh()
    wait_for(console, lambda: len(console.find_elements("css selector", "#gallery li")) == 12)
    more = console.find_element("id", "more")
    assert more.is_displayed()
    more.send_keys("\n")  # by keyboard
    wait_for(console, lambda: len(console.find_elements("css selector", "#gallery li")) > 12)
    names = [e.text for e in console.find_elements("css selector", "#gallery .name")]
    assert names[0] == "page-11.png" and "chelsea.jpg" in names[12:]  # newest first, the rest on page two
    assert len(names) == len(set(names))


def test_the_local_panel_lists_deliveries_with_their_signature_check(console):
    wait_for(console, lambda: "verified" in console.find_element("id", "deliveries").text)
    assert "UploadsDeadLetterQueue" in console.find_element("id", "dead-letters").text


def save_for_docs(shot: Path, target: Path) -> None:
    """The screenshot at the README's width, in 256 colors: a quarter of the bytes, as legible."""
    from PIL import Image

    with Image.open(shot) as image:
        height = round(image.height * DOCS_WIDTH / image.width)
        small = image.convert("RGB").resize((DOCS_WIDTH, height), Image.Resampling.LANCZOS)
        small.quantize(colors=256).save(target, optimize=True)


def test_the_console_logged_no_error_and_a_screenshot_is_taken(console, console_stack, tmp_path):
    # Live updates: every image reaches its final status without a reload.
    wait_for(console, lambda: not console.find_elements("css selector", '#gallery li[data-status="PENDING"]'))
    # The face image in detail, below the gallery: the whole page in one picture.
    card(console, "astronaut.jpg").find_element("css selector", "button").click()
    wait_for(console, lambda: console.find_elements("css selector", "#detail-figure .box.face"))
    # The webhooks panel: an endpoint whose receiver fails once, and its test event's two tries.
    url, _ = receiver(console_stack, "?fail=1")
    add_endpoint(console, url, "my receiver")
    console.find_element("id", "dismiss-secret").click()
    webhook_id = send_test(console, "my receiver")
    row_button(console, "my receiver", "Deliveries").click()
    wait_for(console, lambda: delivery_row(console, webhook_id).get_attribute("data-status") == "delivered")
    assert len(attempts_shown(console, webhook_id)) == 2
    height = console.execute_script("return document.documentElement.scrollHeight")
    console.set_window_size(1280, min(height + 120, 3600))
    console.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "console.png"
    console.save_screenshot(str(shot))
    if os.environ.get("CONSOLE_SCREENSHOT"):
        save_for_docs(shot, Path(os.environ["CONSOLE_SCREENSHOT"]))
    errors = [entry for entry in console.get_log("browser") if entry["level"] == "SEVERE"]
    # Chromium reports every 4xx as a network error; the one the URL test provoked is expected.
    refusal = "/images - Failed to load resource: the server responded with a status of 422"
    expected = [e for e in errors if e["source"] == "network" and refusal in e["message"]]
    assert len(expected) <= 1 and [e for e in errors if e not in expected] == []
