"""The gateway enforces Lambda's 6 MB invocation payload, which API Gateway's 10 MB body limit hides."""

from __future__ import annotations

import base64

import requests

from local.apigateway.gateway import HttpGateway
from local.apigateway.payload_limits import MAX_REQUEST_PAYLOAD_BYTES, MAX_RESPONSE_PAYLOAD_BYTES
from local.apigateway.routing import Route

MB = 1_000_000


class Echo:
    def __init__(self, response_body_bytes: int = 0):
        self.calls = 0
        self.response_body_bytes = response_body_bytes

    def __call__(self, function_name, event):
        self.calls += 1
        return {"statusCode": 200, "body": "x" * self.response_body_bytes or "ok"}


def post(invoke, **request):
    with HttpGateway([Route("POST", "/images", "upload")], invoke) as gateway:
        return requests.post(f"{gateway.url}/images", timeout=30, **request)


def test_a_5_mb_image_is_refused_as_aws_refuses_it_without_an_invocation():
    # 5 MB of binary body is about 6.7 MB base64-encoded: under API Gateway's 10 MB, over Lambda's 6 MB
    invoke = Echo()
    response = post(invoke, data=b"\xff" * (5 * MB), headers={"content-type": "image/jpeg"})
    assert (response.status_code, response.json()) == (413, {"message": "Request Too Long"})
    assert invoke.calls == 0


def test_an_image_whose_event_fits_in_6_mb_reaches_the_function():
    invoke = Echo()
    # Base64 makes 4 bytes of 3; the event's other fields take a few KB.
    body = b"\xff" * (MAX_REQUEST_PAYLOAD_BYTES * 3 // 4 - 16 * 1024)
    response = post(invoke, data=body, headers={"content-type": "image/png"})
    assert response.status_code == 200 and invoke.calls == 1
    assert len(base64.b64encode(body)) < MAX_REQUEST_PAYLOAD_BYTES


def test_a_response_over_6_mb_is_an_internal_server_error():
    response = post(Echo(response_body_bytes=MAX_RESPONSE_PAYLOAD_BYTES), json={})
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_a_response_just_under_6_mb_is_sent():
    response = post(Echo(response_body_bytes=MAX_RESPONSE_PAYLOAD_BYTES - 1024), json={})
    assert response.status_code == 200 and len(response.content) == MAX_RESPONSE_PAYLOAD_BYTES - 1024
