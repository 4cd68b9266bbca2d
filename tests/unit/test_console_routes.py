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
        sign_in=lambda user: f"token-of-{user}",
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


def test_the_dev_sign_in_issues_a_token_for_alice_or_bob_only_and_only_with_the_per_run_token(handlers):
    def sign_in(user, token=TOKEN, method="POST"):
        headers = {"x-local-token": token} if token else {}
        status, _, body = handlers["/_local/sign-in"](request("/_local/sign-in", method, headers, f"user={user}"))
        return status, json.loads(body)

    assert sign_in("alice") == (200, {"user": "alice@example.test", "token": "token-of-alice"})
    assert sign_in("bob")[1]["token"] == "token-of-bob"
    assert sign_in("mallory")[0] == 404
    assert sign_in("alice", token="wrong")[0] == 403
    assert sign_in("alice", token=None)[0] == 403
    assert sign_in("alice", method="GET")[0] == 404


def test_without_a_user_pool_the_dev_sign_in_is_not_found():
    routes = extra_handlers(TOKEN, LocalOperations(lambda: [], lambda: [], lambda name: 0))
    answer = routes["/_local/sign-in"](request("/_local/sign-in", "POST", {"x-local-token": TOKEN}, "user=alice"))
    assert answer[0] == 404
