"""The images handler's parameter checks: every refusal is a 400 with the error contract, never a 500."""

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers import results
from lib.adapters.repository import Page
from tests.support.builders import http_event


class RecordingRepository:
    def __init__(self):
        self.calls = []

    def list_recent(self, owner, limit, cursor=None):
        self.calls.append(("recent", owner, limit, cursor))
        return Page([], None)

    def list_by_label(self, owner, label, limit, cursor=None):
        self.calls.append(("label", owner, label, limit, cursor))
        return Page([], None)


def list_images(query):
    repository = RecordingRepository()
    response = results.handle(APIGatewayProxyEventV2(http_event("GET", "/images", query=query)), repository)
    return response["statusCode"], json.loads(response["body"]), repository.calls


@pytest.mark.parametrize(
    "limit",
    ["", "0", "101", "-1", "1.5", "abc", " 5", "²", "١"],
    ids=["empty", "zero", "over-max", "negative", "fraction", "word", "space", "superscript-two", "arabic-indic-one"],
)
def test_a_limit_that_is_not_1_to_100_in_ascii_digits_is_400(limit):
    status, body, calls = list_images({"limit": limit})
    assert (status, body["error"]["code"], calls) == (400, "invalid_request", [])


@pytest.mark.parametrize("label", ["", "   ", "x" * 101, " " + "x" * 100])
def test_a_label_empty_or_over_100_characters_as_sent_is_400(label):
    status, body, calls = list_images({"label": label})
    assert (status, body["error"]["code"], calls) == (400, "invalid_request", [])


def test_without_a_limit_a_page_has_20_and_an_empty_cursor_is_the_first_page():
    status, _, calls = list_images({"cursor": ""})
    assert status == 200 and calls == [("recent", "public", 20, None)]


def test_a_label_is_trimmed_and_the_limit_read():
    status, body, calls = list_images({"label": "  cat ", "limit": "7"})
    assert status == 200 and body == {"items": [], "next_cursor": None}
    assert calls == [("label", "public", "cat", 7, None)]


class NoIngest:
    """An ingest service the test expects never to be asked."""

    def ingest_url(self, url, name, owner):
        raise AssertionError("a refused request must not fetch anything")


@pytest.mark.parametrize(
    "query",
    [{"name": "\x84"}, {"limit": "0"}, {"url": "https://example.com/a.jpg", "cursor": "not base64!"}],
    ids=["bad-name-without-url", "bad-limit-without-url", "bad-cursor-beside-url"],
)
def test_get_root_holds_every_parameter_to_its_rules_whichever_form(query):
    from handlers import upload

    repository = RecordingRepository()
    event = APIGatewayProxyEventV2(http_event("GET", "/", query=query))
    response = upload.handle(event, NoIngest(), listings=lambda: repository)
    assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (400, "invalid_request")
    assert repository.calls == []


def test_get_root_without_url_lists_the_callers_images():
    from handlers import upload

    repository = RecordingRepository()
    event = APIGatewayProxyEventV2(http_event("GET", "/", query={"label": "cat"}, claims={"sub": "alice-sub"}))
    assert upload.handle(event, NoIngest(), listings=lambda: repository)["statusCode"] == 200
    assert repository.calls == [("label", "alice-sub", "cat", 20, None)]
