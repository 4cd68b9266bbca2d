"""An API Gateway HTTP API (Lambda proxy integration, payload format 2.0) in front of local functions.

What is copied from the managed service, because handlers and clients notice it:
- routing: the most specific route wins (local/apigateway/routing.py); no match at all, including
  a known path with another method, is 404 `{"message":"Not Found"}`;
- the event and the response mapping of payload format 2.0 (local/apigateway/proxy_event.py);
- a failed invocation (the function raised, crashed or hit its own timeout) is 500
  `{"message":"Internal Server Error"}`; the integration timeout (30 s at most,
  local/apigateway/integration_timeout.py) is 503 `{"message":"Service Unavailable"}`; bodies over
  10 MB are 413;
- Lambda's invocation payload: an event over 6 MB (a binary body counts base64-encoded) is 413
  `{"message":"Request Too Long"}` without invoking anything; a response over 6 MB is 500
  `{"message":"Internal Server Error"}` (local/apigateway/payload_limits.py, docs/fidelity.md);
- a route with a JWT authorizer answers 401 `{"message":"Unauthorized"}` without invoking anything
  unless the request carries an acceptable token, whose claims then reach the function in
  `requestContext.authorizer` (see local/apigateway/jwt_auth.py).
The connections, bodies and responses on the wire are local/apigateway/gateway_server.py's job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from local.apigateway import payload_limits
from local.apigateway.gateway_server import GatewayError, GatewayHTTPServer, GatewayRequestHandler
from local.apigateway.integration_timeout import INTEGRATION_TIMEOUT_SECONDS, IntegrationTimedOut, call_with_timeout
from local.apigateway.jwt_auth import JwtVerifier, Unauthorized
from local.apigateway.proxy_event import (
    ApiSettings,
    GatewayRequest,
    HttpResponse,
    build_event,
    joined_headers,
    map_result,
    new_request_id,
)
from local.apigateway.routing import Route, RouteMatch, Router
from local.functions.runtime import InvocationError
from local.http_serving import BackgroundHttpServer
from local.rate_limits import TokenBucket

logger = logging.getLogger("local.apigateway.gateway")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# A short poll interval keeps stop() quick; an idle wake-up 20 times a second costs nothing.
SHUTDOWN_POLL_SECONDS = 0.05

ExtraHandler = Callable[[GatewayRequest], tuple[int, Mapping[str, str], bytes]]


class HttpGateway:
    """Serves routes by invoking functions through `invoke(function_name, event)`."""

    def __init__(
        self,
        routes: Sequence[Route],
        invoke: Callable[[str, dict], Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "$default",
        max_body_bytes: int = MAX_PAYLOAD_BYTES,
        extra_handlers: Mapping[str, ExtraHandler] | None = None,
        authorizers: Mapping[str, JwtVerifier] | None = None,
        integration_timeout: float | None = INTEGRATION_TIMEOUT_SECONDS,
        account_id: str = "000000000000",
        api_id: str = "local",
        throttle: TokenBucket | None = None,
        access_log: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.routes = list(routes)
        # The stage's rate and burst limit, shared by every client and route, as on AWS.
        self._throttle = throttle
        self._router = Router(self.routes)
        self._invoke = invoke
        self._host = host
        self._port = port
        self._settings = ApiSettings(account_id=account_id, api_id=api_id, stage=stage)
        self.max_body_bytes = max_body_bytes
        self.integration_timeout = integration_timeout
        self._extra_handlers = dict(extra_handlers or {})
        self._authorizers = dict(authorizers or {})
        missing = {r.authorizer for r in self.routes if r.authorizer and r.authorizer not in self._authorizers}
        if missing:
            raise ValueError(f"routes name authorizers the gateway was not given: {sorted(missing)}")
        self._served: BackgroundHttpServer | None = None
        # Called with one entry per request, named as API Gateway's $context access log variables.
        self._access_log = access_log

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> str:
        if self._served is not None:
            raise RuntimeError("gateway already started")
        server = GatewayHTTPServer((self._host, self._port), self._handle)
        self._served = BackgroundHttpServer(server, "http-gateway", poll_interval=SHUTDOWN_POLL_SECONDS)
        self._served.start()
        logger.info("HTTP API listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        served, self._served = self._served, None
        if served is not None:
            served.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError("gateway not started")
        return self._served.url

    # --- one request -------------------------------------------------------------------------------
    def _handle(self, handler: GatewayRequestHandler) -> None:
        received_at = time.time()
        request_id = new_request_id()
        method = handler.command.upper()
        target = urlsplit(handler.path)
        path = target.path or "/"
        outcome = "-"
        try:
            extra = self._extra_handlers.get(path)
            matched = None if extra is not None else self._router.match(method, path)
            if extra is None and matched is None:
                # The body is read (and dropped) only so that the connection can be kept alive.
                try:
                    handler.read_body(self.max_body_bytes)
                except GatewayError:
                    raise GatewayError(404, "Not Found", close_connection=True) from None
                raise GatewayError(404, "Not Found")
            headers, cookies = joined_headers(handler.headers)
            request = GatewayRequest(
                method=method,
                path=path,
                query_string=target.query,
                headers=headers,
                body=handler.read_body(self.max_body_bytes),
                source_ip=handler.client_address[0],
                cookies=cookies,
                protocol=handler.request_version,
                port=handler.server.server_address[1],
                request_id=request_id,
                received_at=received_at,
            )
            if extra is None and self._throttle is not None and not self._throttle.take():
                outcome = "throttled"
                raise GatewayError(429, "Too Many Requests")
            if extra is not None:
                outcome = "extra"
                response = self._run_extra(extra, request)
            else:
                outcome = matched.route.function_name  # type: ignore[union-attr]  # None was a 404 above
                response = self._integrate(request, matched)  # type: ignore[arg-type]
        except GatewayError as error:
            unread_body = error.close_connection
            if unread_body:
                handler.close_connection = True
            response = error.response()
        else:
            unread_body = False
        handler.send(response, request_id, head_only=method == "HEAD")
        if unread_body:
            handler.linger()
        latency_ms = (time.time() - received_at) * 1000
        logger.info("%s %s -> %d (%s) [%.0f ms]", method, path, response.status, outcome, latency_ms)
        if self._access_log is not None:
            self._access_log(
                {
                    "requestId": request_id,
                    "httpMethod": method,
                    "path": path,
                    "status": response.status,
                    "integration": outcome,
                    "requestTimeEpoch": round(received_at * 1000),
                    "responseLatency": round(latency_ms, 1),
                }
            )

    def _authorize(self, request: GatewayRequest, route: Route) -> dict[str, Any] | None:
        if route.authorizer is None:
            return None
        try:
            return self._authorizers[route.authorizer].authorize(request.headers)
        except Unauthorized as error:
            logger.info("%s: 401 from authorizer %s: %s", route.route_key, route.authorizer, error)
            raise GatewayError(401, "Unauthorized") from None

    def _integrate(self, request: GatewayRequest, matched: RouteMatch) -> HttpResponse:
        route = matched.route
        event = build_event(request, matched, self._settings, self._authorize(request, route))
        if payload_limits.request_too_large(event):
            logger.info("%s: the event is over Lambda's 6 MB invocation payload", route.function_name)
            raise GatewayError(413, "Request Too Long")
        try:
            result = call_with_timeout(lambda: self._invoke(route.function_name, event), self.integration_timeout)
        except IntegrationTimedOut:
            logger.warning(
                "%s: no answer within the %.0f s integration timeout",
                route.function_name,
                self.integration_timeout or 0,
            )
            raise GatewayError(503, "Service Unavailable") from None
        except InvocationError as error:
            logger.warning("%s failed: %s: %s", route.function_name, error.error_type, error.error_message)
            raise GatewayError(500, "Internal Server Error") from None
        except Exception:
            logger.exception("%s: invoke raised", route.function_name)
            raise GatewayError(500, "Internal Server Error") from None
        if payload_limits.response_too_large(result):
            logger.warning("%s: the response is over Lambda's 6 MB invocation payload", route.function_name)
            raise GatewayError(500, "Internal Server Error")
        try:
            return map_result(result)
        except ValueError as error:
            logger.warning("%s returned a malformed response: %s", route.function_name, error)
            raise GatewayError(500, "Internal Server Error") from None

    def _run_extra(self, extra: ExtraHandler, request: GatewayRequest) -> HttpResponse:
        try:
            status, response_headers, payload = extra(request)
        except Exception:
            logger.exception("extra handler for %s raised", request.path)
            raise GatewayError(500, "Internal Server Error") from None
        return HttpResponse(status, list(response_headers.items()), payload)
