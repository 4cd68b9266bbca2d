"""The local HTTP API: routing, payload format 2.0 events, response mapping and API Gateway's own errors."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.apigateway.gateway import HttpGateway
from local.apigateway.proxy_event import GatewayRequest
from local.apigateway.routing import Route
from local.functions.runtime import FunctionSpec, InvocationError, InvocationTimeout, LambdaRuntime

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = "tests/integration/sample_handlers"
ROUTES = [
    Route("GET", "/", "root"),
    Route("GET", "/images", "list_images"),
    Route("POST", "/images", "upload"),
    Route("GET", "/images/latest", "latest_image"),
    Route("GET", "/images/{id}", "get_image"),
    Route("ANY", "/files/{proxy+}", "files"),
    Route("GET", "/files/{proxy+}", "read_file"),
]


class FakeIntegration:
    """Stands in for the runtime: records each event and answers with whatever `respond` returns."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.respond: Callable[[str, dict], Any] = lambda name, event: {"statusCode": 200, "body": name}

    def __call__(self, function_name: str, event: dict) -> Any:
        self.calls.append((function_name, event))
        return self.respond(function_name, event)

    @property
    def last_event(self) -> dict:
        return self.calls[-1][1]


@pytest.fixture
def integration() -> FakeIntegration:
    return FakeIntegration()


@pytest.fixture
def start_gateway(integration: FakeIntegration) -> Iterator[Callable[..., HttpGateway]]:
    gateways: list[HttpGateway] = []

    def start(routes=ROUTES, invoke=integration, **options) -> HttpGateway:
        gateway = HttpGateway(routes, invoke, **options)
        gateway.start()
        gateways.append(gateway)
        return gateway

    yield start
    for gateway in gateways:
        gateway.stop()


@pytest.fixture
def gateway(start_gateway) -> HttpGateway:
    return start_gateway()


def raw_exchange(gateway: HttpGateway, request: bytes, *, timeout: float = 5) -> bytes:
    """Send bytes as they are and read until the server closes the connection."""
    host, port = gateway.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- routing ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "function", "route_key", "path_parameters"),
    [
        ("GET", "/", "root", "GET /", None),
        ("GET", "/images", "list_images", "GET /images", None),
        ("POST", "/images", "upload", "POST /images", None),
        ("GET", "/images/latest", "latest_image", "GET /images/latest", None),
        ("GET", "/images/abc123", "get_image", "GET /images/{id}", {"id": "abc123"}),
        ("GET", "/images/a%20b", "get_image", "GET /images/{id}", {"id": "a b"}),
        ("GET", "/files/a/b/c.txt", "read_file", "GET /files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("DELETE", "/files/a/b", "files", "ANY /files/{proxy+}", {"proxy": "a/b"}),
    ],
)
def test_given_routes_when_requested_then_the_most_specific_route_wins(
    gateway, integration, method, path, function, route_key, path_parameters
):
    response = requests.request(method, gateway.url + path, timeout=5)

    assert response.status_code == 200
    assert response.text == function
    event = integration.last_event
    assert event["routeKey"] == route_key
    assert event["requestContext"]["routeKey"] == route_key
    assert event.get("pathParameters") == path_parameters


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing-here"),
        ("DELETE", "/images"),
        ("PUT", "/images/abc"),
        ("GET", "/files"),
        ("GET", "/images/"),
        # Methods the standard library has no handler for: still API Gateway's JSON 404, not an HTML 501.
        ("TRACE", "/images"),
        ("PROPFIND", "/images/abc"),
    ],
)
def test_given_no_matching_route_when_requested_then_api_gateways_own_404(gateway, integration, method, path):
    response = requests.request(method, gateway.url + path, data=b"ignored", timeout=5)

    assert response.status_code == 404
    assert response.content == b'{"message":"Not Found"}'
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["apigw-requestid"]
    assert integration.calls == []


# --- the 2.0 event ----------------------------------------------------------------------------------
def test_given_a_full_request_then_the_event_is_payload_format_2_0(gateway, integration):
    before_ms = int(time.time() * 1000)
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=5)
    connection.putrequest("POST", "/images?tag=a&tag=b&note=hello%20world&empty=", skip_accept_encoding=True)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("X-Trace", "one")
    connection.putheader("X-Trace", "two")
    connection.putheader("Cookie", "session=abc; theme=dark")
    connection.putheader("User-Agent", "gateway-test/1.0")
    body = b'{"url": "https://example.com/cat.jpg"}'
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    response.read()
    connection.close()

    event = integration.last_event
    assert set(event) == {
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "cookies",
        "headers",
        "queryStringParameters",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /images"
    assert event["rawPath"] == "/images"
    assert event["rawQueryString"] == "tag=a&tag=b&note=hello%20world&empty="
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["queryStringParameters"] == {"tag": "a,b", "note": "hello world", "empty": ""}
    assert event["body"] == '{"url": "https://example.com/cat.jpg"}'
    assert event["isBase64Encoded"] is False
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["x-trace"] == "one,two"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "gateway-test/1.0"
    assert headers["x-forwarded-proto"] == "http"
    assert "cookie" not in headers
    context = event["requestContext"]
    domain = gateway.url.removeprefix("http://")
    assert context["accountId"] == "000000000000"
    assert context["apiId"] == "local"
    assert context["domainName"] == domain
    assert context["domainPrefix"] == "127.0.0.1"
    assert context["http"] == {
        "method": "POST",
        "path": "/images",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "gateway-test/1.0",
    }
    assert context["requestId"] == response.getheader("apigw-requestid")
    assert context["routeKey"] == "POST /images"
    assert context["stage"] == "$default"
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", context["time"])
    assert before_ms <= context["timeEpoch"] <= int(time.time() * 1000)


def test_given_a_bare_request_then_optional_fields_are_left_out(gateway, integration):
    requests.get(gateway.url + "/images", timeout=5)

    event = integration.last_event
    for absent in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert absent not in event, absent
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "base64_encoded"),
    [
        ("text/plain; charset=utf-8", False),
        ("text/csv", False),
        ("application/json", False),
        ("application/xml", False),
        ("application/javascript", False),
        ("image/jpeg", True),
        ("application/octet-stream", True),
        ("application/x-www-form-urlencoded", True),
        (None, True),
    ],
)
def test_given_a_body_then_only_text_like_content_types_arrive_unencoded(
    gateway, integration, content_type, base64_encoded
):
    body = b"\xff\xd8\xff\xe0 jpeg bytes" if base64_encoded else b"plain text, caf\xc3\xa9"
    # A None value makes requests leave the header out altogether.
    requests.post(gateway.url + "/images", data=body, headers={"Content-Type": content_type}, timeout=5)

    event = integration.last_event
    assert event["isBase64Encoded"] is base64_encoded
    received = base64.b64decode(event["body"]) if base64_encoded else event["body"].encode("utf-8")
    assert received == body


# --- responses --------------------------------------------------------------------------------------
def test_given_a_full_response_then_status_headers_cookies_and_body_are_sent(gateway, integration):
    integration.respond = lambda name, event: {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "location": "/images/abc", "x-count": 3},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly"],
        "body": json.dumps({"id": "abc"}),
    }

    response = requests.post(gateway.url + "/images", json={}, timeout=5)

    assert response.status_code == 201
    assert response.json() == {"id": "abc"}
    assert response.headers["Location"] == "/images/abc"
    assert response.headers["X-Count"] == "3"
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["apigw-requestid"]
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; HttpOnly"]


def test_given_a_base64_response_then_the_client_gets_the_decoded_bytes(gateway, integration):
    image = bytes(range(256))
    integration.respond = lambda name, event: {
        "statusCode": 200,
        "headers": {"content-type": "image/png"},
        "body": base64.b64encode(image).decode(),
        "isBase64Encoded": True,
    }

    response = requests.get(gateway.url + "/images/abc", timeout=5)

    assert response.content == image
    assert response.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"id": "abc", "labels": ["Cat"]}, b'{"id": "abc", "labels": ["Cat"]}'),
        ([1, 2], b"[1, 2]"),
        ("Hello from Lambda!", b"Hello from Lambda!"),
    ],
)
def test_given_a_result_without_status_code_then_api_gateway_infers_a_json_200(gateway, integration, result, body):
    integration.respond = lambda name, event: result

    response = requests.get(gateway.url + "/images", timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.content == body


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "not-a-status", "body": "x"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_given_a_malformed_response_then_500_internal_server_error(gateway, integration, result):
    integration.respond = lambda name, event: result

    response = requests.get(gateway.url + "/images", timeout=5)

    assert response.status_code == 500
    assert response.content == b'{"message":"Internal Server Error"}'


@pytest.mark.parametrize(
    "failure",
    [
        InvocationError("ValueError", "Traceback (most recent call last): secret detail", function_name="x"),
        InvocationTimeout("Sandbox.Timedout", "Task timed out after 3.00 seconds", function_name="x"),
        RuntimeError("an unexpected bug in the invoke callable"),
    ],
)
def test_given_the_function_fails_then_500_without_leaking_details(gateway, integration, failure):
    def fail(name: str, event: dict) -> Any:
        raise failure

    integration.respond = fail

    response = requests.get(gateway.url + "/images", timeout=5)

    assert response.status_code == 500
    assert response.content == b'{"message":"Internal Server Error"}'


def test_given_no_answer_within_the_integration_timeout_then_503_service_unavailable(start_gateway, integration):
    release = threading.Event()
    integration.respond = lambda name, event: release.wait(10)
    gateway = start_gateway(integration_timeout=0.3)

    started = time.monotonic()
    response = requests.get(gateway.url + "/images", timeout=5)
    release.set()

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.content == b'{"message":"Service Unavailable"}'


# --- request bodies ---------------------------------------------------------------------------------
def test_given_a_content_length_over_the_limit_then_413_before_the_body_is_read(start_gateway, integration):
    gateway = start_gateway(max_body_bytes=1024)
    request = (
        b"POST /images HTTP/1.1\r\nHost: local\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 10485761\r\n\r\n" + b"x" * 100  # far less than announced: never waited for
    )

    reply = raw_exchange(gateway, request)

    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"Connection: close" in head
    assert body == b'{"message":"Request Entity Too Large"}'
    assert integration.calls == []


def test_given_a_chunked_body_within_the_limit_then_it_reaches_the_function_whole(start_gateway, integration):
    gateway = start_gateway(max_body_bytes=1024)

    response = requests.post(
        gateway.url + "/images",
        data=iter([b"first chunk, ", b"second chunk"]),
        headers={"Content-Type": "text/plain"},
        timeout=5,
    )

    assert response.status_code == 200
    assert integration.last_event["body"] == "first chunk, second chunk"


def test_given_a_chunked_body_over_the_limit_then_413(start_gateway, integration):
    gateway = start_gateway(max_body_bytes=1024)
    chunk = b"x" * 600
    request = (
        b"POST /images HTTP/1.1\r\nHost: local\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(chunk)
        + chunk
        + b"\r\n"
        + b"%x\r\n" % len(chunk)
        + chunk
        + b"\r\n0\r\n\r\n"
    )

    reply = raw_exchange(gateway, request)

    assert reply.startswith(b"HTTP/1.1 413")
    assert integration.calls == []


# --- connections and extras -------------------------------------------------------------------------
def test_given_keep_alive_then_several_requests_share_one_connection(gateway, integration):
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=5)
    statuses = []
    sockets = []
    for path in ("/images", "/images/abc", "/nothing-here", "/images"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        sockets.append(connection.sock)
    connection.close()

    assert statuses == [200, 200, 404, 200]
    assert all(sock is sockets[0] for sock in sockets), "the connection was reopened"


def test_given_concurrent_requests_then_they_are_served_in_parallel(gateway, integration):
    both_inside = threading.Barrier(2, timeout=5)

    def respond(name: str, event: dict) -> dict:
        both_inside.wait()  # only passes if the two requests are in flight at the same time
        return {"statusCode": 200, "body": "ok"}

    integration.respond = respond
    statuses: list[int] = []

    def get() -> None:
        statuses.append(requests.get(gateway.url + "/images", timeout=10).status_code)

    clients = [threading.Thread(target=get) for _ in range(2)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=10)

    assert statuses == [200, 200]


def test_given_an_extra_handler_then_its_path_is_served_without_a_function(start_gateway, integration):
    seen: list[GatewayRequest] = []

    def openapi(request: GatewayRequest) -> tuple[int, dict[str, str], bytes]:
        seen.append(request)
        return 200, {"Content-Type": "application/yaml"}, b"openapi: 3.0.3\n"

    gateway = start_gateway(extra_handlers={"/openapi.yaml": openapi})

    response = requests.get(gateway.url + "/openapi.yaml?v=1", headers={"X-Probe": "yes"}, timeout=5)

    assert response.status_code == 200
    assert response.content == b"openapi: 3.0.3\n"
    assert response.headers["Content-Type"] == "application/yaml"
    assert integration.calls == []
    assert (seen[0].method, seen[0].path, seen[0].query_string) == ("GET", "/openapi.yaml", "v=1")
    assert seen[0].headers["x-probe"] == "yes"


def test_given_a_stopped_gateway_then_it_no_longer_accepts_connections(integration):
    gateway = HttpGateway(ROUTES, integration)
    url = gateway.start()
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
    connection.request("GET", "/images")
    connection.getresponse().read()

    gateway.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/images", timeout=2)
    with pytest.raises((http.client.HTTPException, OSError)):
        connection.request("GET", "/images")
        connection.getresponse()


def test_given_duplicate_or_invalid_routes_then_the_gateway_refuses_them(integration):
    with pytest.raises(ValueError, match="duplicate"):
        HttpGateway([Route("GET", "/a", "x"), Route("GET", "/a", "y")], integration)
    with pytest.raises(ValueError, match="greedy"):
        HttpGateway([Route("GET", "/{proxy+}/more", "x")], integration)


# --- with the real runtime --------------------------------------------------------------------------
@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    functions = [
        FunctionSpec("http_echo", f"{SAMPLES}/http_echo.handler", timeout=5),
        FunctionSpec("failing", f"{SAMPLES}/failing.handler", timeout=5),
        FunctionSpec("sleepy", f"{SAMPLES}/sleepy.handler", timeout=0.5),
    ]
    # Forked from a zygote that imports nothing: the sample handlers need none of the shared imports.
    with LambdaRuntime(functions, project_root=PROJECT_ROOT, log_path=tmp_path / "workers.log", preload=()) as started:
        yield started


def test_given_the_real_runtime_then_a_binary_upload_round_trips_through_a_worker(start_gateway, runtime):
    gateway = start_gateway([Route("POST", "/echo", "http_echo")], runtime.invoke)
    jpeg = (PROJECT_ROOT / "tests" / "fixtures" / "rocket.jpg").read_bytes()

    response = requests.post(gateway.url + "/echo", data=jpeg, headers={"Content-Type": "image/jpeg"}, timeout=10)

    assert response.status_code == 200
    assert response.content == jpeg
    assert response.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("function_name", ["failing", "sleepy"])
def test_given_the_real_runtime_when_the_function_raises_or_times_out_then_500(start_gateway, runtime, function_name):
    gateway = start_gateway([Route("GET", "/broken", function_name)], runtime.invoke)

    response = requests.get(gateway.url + "/broken", timeout=10)

    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


# --- the stage throttle -------------------------------------------------------------------------------
def test_over_the_stage_throttle_requests_get_api_gateways_429_and_never_reach_a_function(start_gateway, integration):
    from local.rate_limits import TokenBucket

    # A burst of 3 and almost no refill: the fourth request within the test is over the limit.
    gateway = start_gateway(throttle=TokenBucket(rate=0.01, burst=3))
    with requests.Session() as session:
        answers = [session.post(gateway.url + "/images", data=b"x" * 100, timeout=5) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].json() == {"message": "Too Many Requests"}
    assert len(integration.calls) == 3
    # Shared by every route and client, as on AWS (HTTP APIs have no per-client plans).
    assert requests.get(gateway.url + "/images/abc", timeout=5).status_code == 429
