"""`GET /console` on the local gateway, and the local-only routes the console uses.

The local routes (`/_local/deliveries`, `/_local/dead-letters`, `/_local/redrive`, `/_local/features`, and
with AUTH=cognito `/_local/sign-in?user=alice|bob`, a dev sign-in without a password) are not part of
the deployed API or its spec. Each needs the stack's per-run token in `X-Local-Token`. The token is
written into the console page only: another site's page can neither read that page (the gateway
sends no CORS headers) nor send the header without a CORS preflight, which the gateway refuses.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from local.apigateway.gateway import ExtraHandler
from local.apigateway.proxy_event import GatewayRequest
from local.commands.auth_token import user_email
from local.console.files import SECURITY_HEADERS, page, read, static_files

CONSOLE_ROUTE = "/console"
Answer = tuple[int, Mapping[str, str], bytes]


@dataclass(frozen=True)
class LocalOperations:
    """What the local stack lets its console see and do."""

    deliveries: Callable[[], list[dict[str, Any]]]
    dead_letters: Callable[[], list[dict[str, Any]]]  # [{"name", "count"}]
    redrive: Callable[[str], int]  # queue name -> messages moved
    # {"on": [...], "off": [...]}: the recognition features this stack's functions run with
    features: Mapping[str, list[str]] = field(default_factory=dict)
    # A dev user's access token (AUTH=cognito), or None when the stack has no user pool.
    sign_in: Callable[[str], str | None] = lambda user: None


# The users the local console may sign in as without a password: two, to see that each sees only its own.
DEV_USERS = ("alice", "bob")


def _json(status: int, body: Any) -> Answer:
    return status, {"content-type": "application/json", "cache-control": "no-store"}, json.dumps(body).encode()


def _not_found() -> Answer:
    return _json(404, {"message": "Not Found"})  # as for any route the API does not have


def extra_handlers(token: str, operations: LocalOperations) -> dict[str, ExtraHandler]:
    def console_page(request: GatewayRequest) -> Answer:
        if request.method not in ("GET", "HEAD"):
            return _not_found()
        return 200, {"content-type": "text/html; charset=utf-8", **SECURITY_HEADERS}, page("", token)

    def console_file(relative: str) -> ExtraHandler:
        def serve(request: GatewayRequest) -> Answer:
            found = read(relative) if request.method in ("GET", "HEAD") else None
            if found is None:
                return _not_found()
            return 200, {"content-type": found[0], **SECURITY_HEADERS}, found[1]

        return serve

    def guarded(method: str, action: Callable[[GatewayRequest], Any]) -> ExtraHandler:
        def serve(request: GatewayRequest) -> Answer:
            if request.method != method:
                return _not_found()
            if not hmac.compare_digest(request.headers.get("x-local-token", ""), token):
                return _json(403, {"message": "Forbidden"})
            return _json(200, action(request))

        return serve

    def redrive(request: GatewayRequest) -> dict[str, Any]:
        queue = parse_qs(request.query_string).get("queue", [""])[0]
        return {"queue": queue, "moved": operations.redrive(queue)}

    def sign_in(request: GatewayRequest) -> Answer:
        user = parse_qs(request.query_string).get("user", [""])[0]
        if request.method != "POST":
            return _not_found()
        if not hmac.compare_digest(request.headers.get("x-local-token", ""), token):
            return _json(403, {"message": "Forbidden"})
        issued = operations.sign_in(user) if user in DEV_USERS else None
        if issued is None:
            return _json(404, {"message": "Not Found"})  # auth is off, or not a dev user
        return _json(200, {"user": user_email(user), "token": issued})

    def to_page(request: GatewayRequest) -> Answer:
        # The page's relative links need the trailing slash.
        return 302, {"location": f"{CONSOLE_ROUTE}/"}, b""

    handlers: dict[str, ExtraHandler] = {
        CONSOLE_ROUTE: to_page,
        f"{CONSOLE_ROUTE}/": console_page,
        "/_local/deliveries": guarded("GET", lambda _: operations.deliveries()),
        "/_local/dead-letters": guarded("GET", lambda _: operations.dead_letters()),
        "/_local/redrive": guarded("POST", redrive),
        "/_local/features": guarded("GET", lambda _: operations.features),
        "/_local/sign-in": sign_in,
    }
    for relative in static_files():
        handlers[f"{CONSOLE_ROUTE}/{relative}"] = console_file(relative)
    return handlers
