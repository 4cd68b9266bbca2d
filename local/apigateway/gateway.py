"""An API Gateway HTTP API (Lambda proxy integration, payload format 2.0) in front of local functions.

What is copied from the managed service, because handlers and clients notice it:
- routing: the most specific route wins (literal segment > `{param}` > `{proxy+}`, then a named
  method over ANY); no match at all, including a known path with another method, is 404
  `{"message":"Not Found"}`;
- request bodies are base64-encoded unless the Content-Type is text/*, application/json,
  application/xml or application/javascript (a missing Content-Type counts as binary);
- responses: a dict with statusCode is used as is; anything else is sent as JSON with status 200;
- a failed invocation (the function raised, crashed or hit its own timeout) is 500
  `{"message":"Internal Server Error"}`; the integration timeout (30 s at most) is 503
  `{"message":"Service Unavailable"}`; bodies over 10 MB are 413;
- Lambda's invocation payload: an event over 6 MB (a binary body counts base64-encoded) is 413
  `{"message":"Request Too Long"}` without invoking anything; a response over 6 MB is 500
  `{"message":"Internal Server Error"}` (local/apigateway/payload_limits.py, docs/fidelity.md);
- a route with a JWT authorizer answers 401 `{"message":"Unauthorized"}` without invoking anything
  unless the request carries an acceptable token, whose claims then reach the function in
  `requestContext.authorizer` (see local/apigateway/jwt_auth.py).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from local.apigateway import payload_limits
from local.apigateway.jwt_auth import JwtAuthorizer, Unauthorized
from local.functions.runtime import InvocationError
from local.rate_limits import TokenBucket

logger = logging.getLogger("local.apigateway.gateway")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 30.0
KEEP_ALIVE_IDLE_SECONDS = 60
SHUTDOWN_POLL_SECONDS = 0.05
LINGER_IDLE_SECONDS = 0.2
LINGER_MAX_SECONDS = 2.0
READ_CHUNK_BYTES = 64 * 1024
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
DEFAULT_RESPONSE_CONTENT_TYPE = "text/plain; charset=utf-8"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST", ... or "ANY"
    path: str  # "/", "/images", "/images/{id}", "/files/{proxy+}"
    function_name: str
    authorizer: str | None = None  # the name of one of the gateway's authorizers

    @property
    def route_key(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class GatewayRequest:
    """What an extra (non-Lambda) handler gets to see of a request."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]  # lower-cased names, repeated values joined with commas
    body: bytes
    source_ip: str


ExtraHandler = Callable[[GatewayRequest], tuple[int, Mapping[str, str], bytes]]


class GatewayError(Exception):
    """A response API Gateway itself produces, with its own JSON message body."""

    def __init__(self, status: int, message: str, *, close_connection: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.close_connection = close_connection


# --- routing ----------------------------------------------------------------------------------------
_PARAMETER = re.compile(r"^\{([A-Za-z0-9_.\-]+)(\+?)\}$")
_LITERAL, _PARAM, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class _CompiledRoute:
    route: Route
    segments: tuple[tuple[int, str], ...]  # (kind, literal text or parameter name)

    @classmethod
    def compile(cls, route: Route) -> _CompiledRoute:
        if not route.path.startswith("/"):
            raise ValueError(f"route path must start with '/': {route.path!r}")
        parts = route.path.split("/")[1:] if route.path != "/" else []
        segments: list[tuple[int, str]] = []
        for index, part in enumerate(parts):
            match = _PARAMETER.match(part)
            if match is None:
                segments.append((_LITERAL, part))
            elif match.group(2):
                if index != len(parts) - 1:
                    raise ValueError(f"a greedy path variable must be last: {route.path!r}")
                segments.append((_GREEDY, match.group(1)))
            else:
                segments.append((_PARAM, match.group(1)))
        return cls(route, tuple(segments))

    def match(self, method: str, segments: Sequence[str]) -> dict[str, str] | None:
        if self.route.method.upper() not in ("ANY", method):
            return None
        parameters: dict[str, str] = {}
        for index, (kind, text) in enumerate(self.segments):
            if kind == _GREEDY:
                rest = segments[index:]
                if not rest or not any(rest):
                    return None
                parameters[text] = "/".join(rest)
                return parameters
            if index >= len(segments):
                return None
            if kind == _LITERAL:
                if segments[index] != text:
                    return None
            elif not segments[index]:
                return None
            else:
                parameters[text] = segments[index]
        return parameters if len(segments) == len(self.segments) else None

    def specificity(self) -> tuple[tuple[int, ...], int]:
        # Smaller sorts first: literal segments beat variables, variables beat greedy ones,
        # then a named method beats ANY.
        return tuple(kind for kind, _ in self.segments), int(self.route.method.upper() == "ANY")


class Router:
    def __init__(self, routes: Sequence[Route]):
        compiled = [_CompiledRoute.compile(route) for route in routes]
        keys = [entry.route.route_key for entry in compiled]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise ValueError(f"duplicate routes: {sorted(duplicates)}")
        self._routes = sorted(compiled, key=_CompiledRoute.specificity)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        segments = [unquote(part) for part in path.split("/")[1:]] if path != "/" else []
        for entry in self._routes:
            parameters = entry.match(method, segments)
            if parameters is not None:
                return entry.route, parameters
        return None


# --- payload format 2.0 -----------------------------------------------------------------------------
def is_text_media_type(content_type: str | None) -> bool:
    """API Gateway HTTP APIs pass these bodies as UTF-8 text; every other body is base64-encoded."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def _joined_headers(message: Message) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in message.items():
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    return headers, cookies


def _joined_query(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _request_time(epoch: float) -> str:
    moment = time.gmtime(epoch)
    return (
        f"{moment.tm_mday:02d}/{MONTHS[moment.tm_mon - 1]}/{moment.tm_year}:"
        f"{moment.tm_hour:02d}:{moment.tm_min:02d}:{moment.tm_sec:02d} +0000"
    )


def _new_request_id() -> str:
    # The managed service's request ids look like "JKJaXmPLvHcESHA=".
    return base64.b64encode(os.urandom(10)).decode("ascii")


def _domain_prefix(domain_name: str) -> str:
    host = domain_name.rsplit(":", 1)[0] if domain_name.count(":") == 1 else domain_name
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.split(".", 1)[0]
    return host


@dataclass(frozen=True)
class _ApiSettings:
    account_id: str
    api_id: str
    stage: str


def build_event(
    *,
    settings: _ApiSettings,
    route: Route,
    path_parameters: Mapping[str, str],
    method: str,
    raw_path: str,
    raw_query: str,
    protocol: str,
    header_message: Message,
    body: bytes,
    source_ip: str,
    request_id: str,
    received_at: float,
    extra_headers: Mapping[str, str],
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    headers, cookies = _joined_headers(header_message)
    for name, value in extra_headers.items():
        headers.setdefault(name, value)
    domain_name = headers.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _joined_query(raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": settings.account_id,
        "apiId": settings.api_id,
        "domainName": domain_name,
        "domainPrefix": _domain_prefix(domain_name),
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": settings.stage,
        "time": _request_time(received_at),
        "timeEpoch": int(received_at * 1000),
    }
    if body:
        binary = not is_text_media_type(headers.get("content-type"))
        if not binary:
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                binary = True
        if binary:
            event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = binary
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def map_result(result: Any) -> HttpResponse:
    """Turn a function's return value into the HTTP response API Gateway would send."""
    if not (isinstance(result, dict) and "statusCode" in result):
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], body.encode("utf-8"))
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers = [(str(name), _header_value(value)) for name, value in (result.get("headers") or {}).items()]
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", DEFAULT_RESPONSE_CONTENT_TYPE))
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise ValueError(f"body must be a string, not {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise ValueError(f"isBase64Encoded is true but the body is not base64: {error}") from error
    else:
        payload = body.encode("utf-8")
    return HttpResponse(status, headers, payload)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- invoking with an integration timeout -----------------------------------------------------------
class _IntegrationTimedOut(Exception):
    pass


def _call_with_timeout(call: Callable[[], Any], timeout: float | None) -> Any:
    if timeout is None:
        return call()
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["result"] = call()
        except Exception as error:  # handed back to the request thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, name="gateway-integration", daemon=True).start()
    if not done.wait(timeout):
        raise _IntegrationTimedOut()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# --- HTTP server ------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    gateway: HttpGateway

    def __init__(self, address: tuple[str, int], gateway: HttpGateway):
        self.gateway = gateway
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_idle_connections(self) -> None:
        # Keep-alive connections would otherwise outlive stop() and keep being served.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK hold every keep-alive response back by about 40 ms.
    disable_nagle_algorithm = True
    timeout = KEEP_ALIVE_IDLE_SECONDS
    server: _Server

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def _serve(self) -> None:
        self.server.gateway._handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, a made-up token) is routed too, so it gets the managed
        # service's JSON 404 rather than the standard library's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)


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
        authorizers: Mapping[str, JwtAuthorizer] | None = None,
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
        self._settings = _ApiSettings(account_id=account_id, api_id=api_id, stage=stage)
        self.max_body_bytes = max_body_bytes
        self.integration_timeout = integration_timeout
        self._extra_handlers = dict(extra_handlers or {})
        self._authorizers = dict(authorizers or {})
        missing = {r.authorizer for r in self.routes if r.authorizer and r.authorizer not in self._authorizers}
        if missing:
            raise ValueError(f"routes name authorizers the gateway was not given: {sorted(missing)}")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Called with one entry per request, named as API Gateway's $context access log variables.
        self._access_log = access_log

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> str:
        if self._server is not None:
            raise RuntimeError("gateway already started")
        self._server = _Server((self._host, self._port), self)
        # A short poll interval keeps stop() quick; an idle wake-up 20 times a second costs nothing.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="http-gateway", daemon=True
        )
        self._thread.start()
        logger.info("HTTP API listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_idle_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("gateway not started")
        host, port = self._server.server_address[:2]
        host_text = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{host_text}:{port}"

    # --- one request -------------------------------------------------------------------------------
    def _handle(self, request: _RequestHandler) -> None:
        received_at = time.time()
        request_id = _new_request_id()
        method = request.command.upper()
        target = urlsplit(request.path)
        raw_path = target.path or "/"
        raw_query = target.query
        outcome = "-"
        try:
            extra = self._extra_handlers.get(raw_path)
            matched = None if extra is not None else self._router.match(method, raw_path)
            if extra is None and matched is None:
                # The body is read (and dropped) only so that the connection can be kept alive.
                try:
                    self._read_body(request)
                except GatewayError:
                    raise GatewayError(404, "Not Found", close_connection=True) from None
                raise GatewayError(404, "Not Found")
            body = self._read_body(request)
            if extra is None and self._throttle is not None and not self._throttle.take():
                outcome = "throttled"
                raise GatewayError(429, "Too Many Requests")
            if extra is not None:
                outcome = "extra"
                response = self._run_extra(extra, request, method, raw_path, raw_query, body)
            else:
                route, parameters = matched  # type: ignore[misc]
                outcome = route.function_name
                authorization = self._authorize(route, request)
                event = build_event(
                    settings=self._settings,
                    route=route,
                    path_parameters=parameters,
                    method=method,
                    raw_path=raw_path,
                    raw_query=raw_query,
                    protocol=request.request_version,
                    header_message=request.headers,
                    body=body,
                    source_ip=request.client_address[0],
                    request_id=request_id,
                    received_at=received_at,
                    extra_headers=self._forwarding_headers(request),
                    authorizer=authorization,
                )
                response = self._integrate(route, event)
        except GatewayError as error:
            unread_body = error.close_connection
            if unread_body:
                request.close_connection = True
            response = _message_response(error.status, error.message)
        else:
            unread_body = False
        self._send(request, response, request_id, head_only=method == "HEAD")
        if unread_body:
            _linger(request.connection)
        latency_ms = (time.time() - received_at) * 1000
        logger.info("%s %s -> %d (%s) [%.0f ms]", method, raw_path, response.status, outcome, latency_ms)
        if self._access_log is not None:
            self._access_log(
                {
                    "requestId": request_id,
                    "httpMethod": method,
                    "path": raw_path,
                    "status": response.status,
                    "integration": outcome,
                    "requestTimeEpoch": round(received_at * 1000),
                    "responseLatency": round(latency_ms, 1),
                }
            )

    def _forwarding_headers(self, request: _RequestHandler) -> dict[str, str]:
        trace = f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"
        return {
            "x-amzn-trace-id": trace,
            "x-forwarded-for": request.client_address[0],
            "x-forwarded-port": str(request.server.server_address[1]),
            "x-forwarded-proto": "http",
        }

    def _authorize(self, route: Route, request: _RequestHandler) -> dict[str, Any] | None:
        if route.authorizer is None:
            return None
        try:
            return self._authorizers[route.authorizer].authorize(_joined_headers(request.headers)[0])
        except Unauthorized as error:
            logger.info("%s: 401 from authorizer %s: %s", route.route_key, route.authorizer, error)
            raise GatewayError(401, "Unauthorized") from None

    def _integrate(self, route: Route, event: dict[str, Any]) -> HttpResponse:
        if payload_limits.request_too_large(event):
            logger.info("%s: the event is over Lambda's 6 MB invocation payload", route.function_name)
            raise GatewayError(413, "Request Too Long")
        try:
            result = _call_with_timeout(lambda: self._invoke(route.function_name, event), self.integration_timeout)
        except _IntegrationTimedOut:
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

    def _run_extra(
        self,
        extra: ExtraHandler,
        request: _RequestHandler,
        method: str,
        raw_path: str,
        raw_query: str,
        body: bytes,
    ) -> HttpResponse:
        headers, _ = _joined_headers(request.headers)
        gateway_request = GatewayRequest(
            method=method,
            path=raw_path,
            query_string=raw_query,
            headers=headers,
            body=body,
            source_ip=request.client_address[0],
        )
        try:
            status, response_headers, payload = extra(gateway_request)
        except Exception:
            logger.exception("extra handler for %s raised", raw_path)
            raise GatewayError(500, "Internal Server Error") from None
        return HttpResponse(status, list(response_headers.items()), payload)

    # --- request bodies ----------------------------------------------------------------------------
    def _read_body(self, request: _RequestHandler) -> bytes:
        transfer_encoding = (request.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in transfer_encoding:
            return self._read_chunked(request)
        length = self._content_length(request)
        if length > self.max_body_bytes:
            # Refused from the header alone: the body is never read, so the connection must close.
            raise GatewayError(413, "Request Entity Too Large", close_connection=True)
        return _read_exactly(request, length)

    def _content_length(self, request: _RequestHandler) -> int:
        raw = request.headers.get("Content-Length")
        if raw is None:
            return 0
        try:
            length = int(raw)
        except ValueError:
            raise GatewayError(400, "Bad Request", close_connection=True) from None
        if length < 0:
            raise GatewayError(400, "Bad Request", close_connection=True)
        return length

    def _read_chunked(self, request: _RequestHandler) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = request.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise GatewayError(400, "Bad Request", close_connection=True) from None
            if size == 0:
                break
            total += size
            if total > self.max_body_bytes:
                raise GatewayError(413, "Request Entity Too Large", close_connection=True)
            chunks.append(_read_exactly(request, size))
            request.rfile.readline(1024)  # the CRLF closing each chunk
        while request.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers: nothing here needs them
        return b"".join(chunks)

    # --- responses ---------------------------------------------------------------------------------
    def _send(self, request: _RequestHandler, response: HttpResponse, request_id: str, *, head_only: bool) -> None:
        try:
            request.send_response_only(response.status)
            request.send_header("Date", request.date_time_string())
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    request.send_header(name, value)
            request.send_header("Content-Length", str(len(response.body)))
            request.send_header("apigw-requestid", request_id)
            if request.close_connection:
                request.send_header("Connection", "close")
            request.end_headers()
            if not head_only:
                request.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            request.close_connection = True


def _read_exactly(request: _RequestHandler, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = request.rfile.read(min(remaining, READ_CHUNK_BYTES))
        if not chunk:
            raise GatewayError(400, "Bad Request", close_connection=True)
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _linger(connection: socket.socket) -> None:
    # Closing a socket that still has unread request bytes makes the kernel send a reset, which can
    # destroy the error response on its way out. Half-close, then drop whatever still arrives, briefly.
    try:
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(LINGER_IDLE_SECONDS)
        give_up = time.monotonic() + LINGER_MAX_SECONDS
        while time.monotonic() < give_up and connection.recv(READ_CHUNK_BYTES):
            pass
    except OSError:
        pass  # the client is gone or went quiet: either way the connection is done


def _message_response(status: int, message: str) -> HttpResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode("utf-8")
    return HttpResponse(status, [("Content-Type", "application/json")], body)
