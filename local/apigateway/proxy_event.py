"""The Lambda proxy integration's payload format 2.0: the event a function gets, and what its answer
becomes.

- Request bodies are base64-encoded unless the Content-Type is text/*, application/json,
  application/xml or application/javascript (a missing Content-Type counts as binary).
- A function's answer that is a dict with statusCode is used as is; anything else is sent as JSON
  with status 200.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from local.apigateway.routing import RouteMatch

TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
DEFAULT_RESPONSE_CONTENT_TYPE = "text/plain; charset=utf-8"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_request_id() -> str:
    # The managed service's request ids look like "JKJaXmPLvHcESHA=".
    return base64.b64encode(os.urandom(10)).decode("ascii")


@dataclass(frozen=True)
class GatewayRequest:
    """One request as the gateway received it: what an extra (non-Lambda) handler gets, and what a
    function's event is built from."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]  # lower-cased names, repeated values joined with commas, no cookies
    body: bytes
    source_ip: str
    cookies: tuple[str, ...] = ()
    protocol: str = "HTTP/1.1"
    port: int = 0  # the gateway's port the request came in on
    request_id: str = field(default_factory=new_request_id)
    received_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ApiSettings:
    account_id: str
    api_id: str
    stage: str


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def joined_headers(message: Message) -> tuple[dict[str, str], tuple[str, ...]]:
    """Header names lower-cased and repeated values joined with commas, as API Gateway passes them;
    cookies apart, one entry per cookie."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in message.items():
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    return headers, tuple(cookies)


def is_text_media_type(content_type: str | None) -> bool:
    """API Gateway HTTP APIs pass these bodies as UTF-8 text; every other body is base64-encoded."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def build_event(
    request: GatewayRequest,
    match: RouteMatch,
    settings: ApiSettings,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    route_key = match.route.route_key
    headers = dict(request.headers)
    for name, value in _forwarding_headers(request).items():
        headers.setdefault(name, value)
    domain_name = headers.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string,
    }
    if request.cookies:
        event["cookies"] = list(request.cookies)
    event["headers"] = headers
    query = _joined_query(request.query_string)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": settings.account_id,
        "apiId": settings.api_id,
        "domainName": domain_name,
        "domainPrefix": _domain_prefix(domain_name),
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": settings.stage,
        "time": _request_time(request.received_at),
        "timeEpoch": int(request.received_at * 1000),
    }
    event.update(_body_fields(request.body, headers.get("content-type")))
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event


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


def _forwarding_headers(request: GatewayRequest) -> dict[str, str]:
    """The headers API Gateway adds on the way to the function, unless the client sent them."""
    return {
        "x-amzn-trace-id": f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}",
        "x-forwarded-for": request.source_ip,
        "x-forwarded-port": str(request.port),
        "x-forwarded-proto": "http",
    }


def _body_fields(body: bytes, content_type: str | None) -> dict[str, Any]:
    if not body:
        return {"isBase64Encoded": False}
    if is_text_media_type(content_type):
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass  # not text after all: sent as binary
    return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


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


def _domain_prefix(domain_name: str) -> str:
    host = domain_name.rsplit(":", 1)[0] if domain_name.count(":") == 1 else domain_name
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.split(".", 1)[0]
    return host


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
