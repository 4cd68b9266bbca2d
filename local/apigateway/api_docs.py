"""`GET /openapi.yaml` on the local gateway: the API contract, served next to the API it describes."""

from __future__ import annotations

import json
from collections.abc import Mapping

from local.apigateway.gateway import ExtraHandler
from local.apigateway.proxy_event import GatewayRequest
from local.paths import PROJECT_ROOT

SPEC_PATH = PROJECT_ROOT / "docs" / "openapi.yaml"
SPEC_ROUTE = "/openapi.yaml"


def serve_spec(request: GatewayRequest) -> tuple[int, Mapping[str, str], bytes]:
    if request.method not in ("GET", "HEAD"):
        # As for any route the API does not have: API Gateway's own 404.
        return 404, {"content-type": "application/json"}, json.dumps({"message": "Not Found"}).encode()
    # Read per request, so an edited spec is served without restarting the stack.
    return 200, {"content-type": "application/yaml; charset=utf-8"}, SPEC_PATH.read_bytes()


def extra_handlers() -> dict[str, ExtraHandler]:
    return {SPEC_ROUTE: serve_spec}
