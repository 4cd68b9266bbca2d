"""The local S3 POST gate: S3's policy, signature and CORS checks in front of an emulator that has none."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from werkzeug.test import Client

from local.aws.s3_post_gate import S3PostGate

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEY = "uploads/0123456789abcdef0123456789abcdef.png"


def stored(environ, start_response):
    """Stands in for the emulator: accepts everything, as moto does."""
    environ["wsgi.input"].read()
    start_response("204 No Content", [("Access-Control-Allow-Origin", environ.get("HTTP_ORIGIN", "*"))])
    return [b""]


RULES = [
    SimpleNamespace(
        allowed_methods=["POST"],
        allowed_origins=["http://console.test"],
        allowed_headers=["*"],
        exposed_headers=[],
        max_age_seconds=600,
    )
]


@pytest.fixture
def client():
    return Client(S3PostGate(stored, secrets={"AKID": "secret"}, cors_rules=lambda bucket: RULES, now=lambda: NOW))


def signed_fields(conditions=None, expires=NOW + timedelta(minutes=5), secret="secret", **fields):
    base = {
        "key": KEY,
        "Content-Type": "image/png",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": "AKID/20261130/us-east-1/s3/aws4_request",
        "x-amz-date": "20261130T120000Z",
    }
    if conditions is None:
        conditions = [{"bucket": "images"}, ["content-length-range", 1, 100]]
        conditions += [{name: value} for name, value in base.items()]
    policy = base64.b64encode(
        json.dumps({"expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}).encode()
    ).decode()
    signing_key = f"AWS4{secret}".encode()
    for part in ("20261130", "us-east-1", "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing_key, policy.encode(), hashlib.sha256).hexdigest()
    return {**base, "policy": policy, "x-amz-signature": signature, **fields}


def post(client, fields, data=b"png bytes", origin="http://console.test"):
    import io

    form = {**fields, "file": (io.BytesIO(data), "image.png", "image/png")}
    response = client.post("/images", data=form, headers={"Origin": origin})
    code = response.get_data(as_text=True).split("<Code>")[1].split("</Code>")[0] if response.status_code >= 400 else ""
    return response.status_code, code, response.headers.get("Access-Control-Allow-Origin")


def test_a_post_within_its_policy_reaches_the_emulator(client):
    assert post(client, signed_fields()) == (204, "", "http://console.test")


@pytest.mark.parametrize(
    ("fields", "data", "expected"),
    [
        (signed_fields(), b"x" * 101, (400, "EntityTooLarge")),
        (signed_fields(), b"", (400, "EntityTooSmall")),
        (signed_fields(key="uploads/other.png"), b"x", (403, "AccessDenied")),
        (signed_fields(**{"Content-Type": "image/jpeg"}), b"x", (403, "AccessDenied")),
        (signed_fields(expires=NOW - timedelta(seconds=1)), b"x", (403, "AccessDenied")),
        (signed_fields(secret="wrong"), b"x", (403, "SignatureDoesNotMatch")),
        (
            signed_fields(**{"x-amz-credential": "OTHER/20261130/us-east-1/s3/aws4_request"}),
            b"x",
            (403, "InvalidAccessKeyId"),
        ),
        (signed_fields(acl="public-read"), b"x", (403, "AccessDenied")),  # a field no condition names
        ({**signed_fields(), "x-amz-algorithm": "AWS2"}, b"x", (400, "InvalidArgument")),
        (signed_fields(conditions=[["starts-with", "key", "uploads/"]]), b"x", (400, "InvalidPolicyDocument")),
        ({k: v for k, v in signed_fields().items() if k != "policy"}, b"x", (403, "AccessDenied")),
    ],
    ids=[
        "over-range",
        "empty",
        "other-key",
        "other-type",
        "expired",
        "bad-signature",
        "unknown-key",
        "extra-field",
        "not-sigv4",
        "condition-without-dollar",
        "no-policy",
    ],
)
def test_a_post_outside_its_policy_is_refused_as_s3_refuses_it(client, fields, data, expected):
    assert post(client, fields, data)[:2] == expected


def test_a_refusal_still_carries_cors_headers_for_an_allowed_origin(client):
    assert post(client, signed_fields(key="uploads/other.png"), b"x")[2] == "http://console.test"


def test_a_response_to_another_origin_carries_no_cors_header(client):
    assert post(client, signed_fields(), origin="https://evil.test") == (204, "", None)


def test_a_preflight_is_answered_by_the_bucket_rules(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/images", headers={"Origin": "http://console.test", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://console.test"
    assert allowed.headers["Access-Control-Max-Age"] == "600"
    refused = client.options("/images", headers={"Origin": "https://evil.test", **preflight})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    wrong_method = client.options(
        "/images", headers={"Origin": "http://console.test", "Access-Control-Request-Method": "DELETE"}
    )
    assert wrong_method.status_code == 403


def test_requests_that_are_not_browser_facing_s3_pass_untouched(client):
    response = client.post(
        "/123456789012/queue", data="Action=SendMessage", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 204
