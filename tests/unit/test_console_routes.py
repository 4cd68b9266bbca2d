"""The console's routes on the local gateway: its files, and local routes that need the per-run token."""

from __future__ import annotations

import json

import pytest

from local.apigateway.proxy_event import GatewayRequest
from local.console.routes import LocalOperations, extra_handlers

TOKEN = "per-run-token"


def request(path, method="GET", headers=None, query=""):
    return GatewayRequest(method, path, query, headers or {}, b"", "127.0.0.1")


@pytest.fixture
def handlers():
    redriven = []
    operations = LocalOperations(
        deliveries=lambda: [{"image_id": "x", "verified": True}],
        dead_letters=lambda: [{"name": "UploadsDeadLetterQueue", "count": 2}],
        redrive=lambda name: redriven.append(name) or 2,
    )
    routes = extra_handlers(TOKEN, operations)
    routes["redriven"] = redriven
    return routes


def test_the_page_carries_the_token_and_relative_modules(handlers):
    status, headers, body = handlers["/console/"](request("/console/"))
    assert status == 200 and f'<meta name="local-token" content="{TOKEN}">' in body.decode()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert handlers["/console"](request("/console"))[:2] == (302, {"location": "/console/"})


def test_every_module_the_page_loads_is_served_as_javascript(handlers):
    status, headers, body = handlers["/console/js/main.js"](request("/console/js/main.js"))
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    for module in ("api", "detail", "gallery", "local_panel", "upload"):
        assert f'"./{module}.js"' in body.decode()
        assert handlers[f"/console/js/{module}.js"](request(f"/console/js/{module}.js"))[0] == 200


@pytest.mark.parametrize("path", ["/_local/deliveries", "/_local/dead-letters", "/_local/features"])
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x"])
def test_a_local_route_without_the_token_is_forbidden(handlers, path, token):
    headers = {} if token is None else {"x-local-token": token}
    assert handlers[path](request(path, headers=headers))[0] == 403


def test_a_local_route_with_the_token_answers(handlers):
    status, _, body = handlers["/_local/dead-letters"](
        request("/_local/dead-letters", headers={"x-local-token": TOKEN})
    )
    assert (status, json.loads(body)) == (200, [{"name": "UploadsDeadLetterQueue", "count": 2}])


def test_redrive_needs_post_and_the_token(handlers):
    path = "/_local/redrive"
    assert handlers[path](request(path, "GET", {"x-local-token": TOKEN}, "queue=UploadsDeadLetterQueue"))[0] == 404
    assert handlers[path](request(path, "POST", {}, "queue=UploadsDeadLetterQueue"))[0] == 403
    status, _, body = handlers[path](request(path, "POST", {"x-local-token": TOKEN}, "queue=UploadsDeadLetterQueue"))
    assert (status, json.loads(body)["moved"], handlers["redriven"]) == (200, 2, ["UploadsDeadLetterQueue"])
