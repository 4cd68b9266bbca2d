"""The payload format 2.0 event, built from one GatewayRequest without any socket."""

from __future__ import annotations

import base64
import re
from email.message import Message

import pytest

from local.apigateway.proxy_event import ApiSettings, GatewayRequest, build_event, joined_headers
from local.apigateway.routing import Route, Router

SETTINGS = ApiSettings(account_id="123456789012", api_id="abc123", stage="$default")
ROUTER = Router([Route("GET", "/images/{id}", "list"), Route("POST", "/images", "ingest")])


def request(method: str = "POST", path: str = "/images", **fields: object) -> GatewayRequest:
    defaults: dict[str, object] = {
        "query_string": "",
        "headers": {"host": "abc123.execute-api.localhost:8080"},
        "body": b"",
        "source_ip": "203.0.113.7",
        "port": 8080,
        "request_id": "JKJaXmPLvHcESHA=",
        "received_at": 1_700_000_000.25,
    }
    return GatewayRequest(method, path, **{**defaults, **fields})  # type: ignore[arg-type]


def event_for(incoming: GatewayRequest, authorizer: dict | None = None) -> dict:
    match = ROUTER.match(incoming.method, incoming.path)
    assert match is not None
    return build_event(incoming, match, SETTINGS, authorizer)


def test_given_a_request_then_api_gateways_forwarding_headers_are_added():
    headers = event_for(request())["headers"]

    assert headers["x-forwarded-for"] == "203.0.113.7"
    assert headers["x-forwarded-port"] == "8080"
    assert headers["x-forwarded-proto"] == "http"
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", headers["x-amzn-trace-id"])


def test_given_a_client_forwarding_header_then_the_clients_value_is_kept():
    incoming = request(headers={"host": "h", "x-forwarded-for": "198.51.100.1"})

    assert event_for(incoming)["headers"]["x-forwarded-for"] == "198.51.100.1"


def test_given_a_request_then_the_context_carries_its_id_time_and_the_api():
    context = event_for(request())["requestContext"]

    assert context["requestId"] == "JKJaXmPLvHcESHA="
    assert context["timeEpoch"] == 1_700_000_000_250
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert (context["accountId"], context["apiId"], context["stage"]) == ("123456789012", "abc123", "$default")
    assert (context["domainName"], context["domainPrefix"]) == ("abc123.execute-api.localhost:8080", "abc123")


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        (None, b"plain", True),  # no Content-Type counts as binary
        ("image/png", b"\x89PNG", True),
        ("text/plain; charset=utf-8", b"hello", False),
        ("application/json", b'{"a": 1}', False),
        ("application/json", b"\xff\xfe", True),  # declared text that is not UTF-8
    ],
)
def test_given_a_body_then_it_is_base64_encoded_unless_text(content_type: str | None, body: bytes, encoded: bool):
    headers = {"host": "h"} | ({"content-type": content_type} if content_type else {})

    event = event_for(request(headers=headers, body=body))

    assert event["isBase64Encoded"] is encoded
    assert event["body"] == (base64.b64encode(body).decode() if encoded else body.decode())


def test_given_a_path_parameter_and_claims_then_both_reach_the_event():
    claims = {"jwt": {"claims": {"sub": "user-1"}, "scopes": None}}

    event = event_for(request(method="GET", path="/images/abc"), authorizer=claims)

    assert event["routeKey"] == "GET /images/{id}"
    assert event["pathParameters"] == {"id": "abc"}
    assert event["requestContext"]["authorizer"] == claims


def test_given_repeated_headers_and_cookies_then_they_are_joined_and_split_as_api_gateway_does():
    message = Message()
    for name, value in [("X-Trace", "one"), ("x-trace", "two"), ("Cookie", "a=1; b=2"), ("Host", "h")]:
        message[name] = value

    headers, cookies = joined_headers(message)
    event = event_for(request(headers=headers, cookies=cookies))

    assert event["headers"]["x-trace"] == "one,two"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
