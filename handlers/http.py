"""HTTP API (payload 2.0) responses shared by the API handlers: JSON bodies and the error contract."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from lib.domain import errors
from lib.domain.errors import InvalidRequest, PayloadTooLarge
from lib.domain.model import PUBLIC_OWNER

MAX_JSON_BODY_BYTES = 16 * 1024

# Handlers map error types, never message text, to statuses.
STATUS_BY_ERROR: list[tuple[type[errors.DomainError], int]] = [
    (errors.UrlNotAllowed, 400),
    (errors.InvalidRequest, 400),
    (errors.NotFound, 404),
    (errors.EndpointDisabled, 409),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.InvalidImage, 422),
    # The caller's URL failed (its host, its server, or our time limit on it): 422 with a code that
    # says which. A 5xx would make a typo in a URL look like an outage of ours.
    (errors.FetchFailed, 422),
    # A webhook endpoint's URL that may not be called (not https, not public): 422 with a code that says which.
    (errors.EndpointUrlRefused, 422),
    (errors.TransientError, 503),
]


def owner_of(event: APIGatewayProxyEventV2) -> str:
    """Whose request this is: the verified JWT's `sub` when the route has an authorizer, else the
    fixed owner of a stage without auth.

    API Gateway puts the claims there only after verifying the token, and a caller cannot write
    them: this is the one place the owner is read, never from a header, query or body.
    """
    claims = event.request_context.authorizer.jwt_claim or {}
    if not claims:
        return PUBLIC_OWNER
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        # A verified token with no subject names nobody: never fall back to the public owner.
        raise InvalidRequest("the token has no subject (sub) claim")
    return subject


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
    }


def error_response(status: int, code: str, message: str) -> dict[str, Any]:
    return json_response(status, {"error": {"code": code, "message": message}})


def domain_error_response(error: errors.DomainError) -> dict[str, Any]:
    status = next((s for kind, s in STATUS_BY_ERROR if isinstance(error, kind)), 500)
    return error_response(status, error.code, error.message)


def internal_error_response() -> dict[str, Any]:
    return error_response(500, "internal_error", "the request could not be completed; it has been logged")


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("latin-1", errors="replace")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("the request body is not valid base64") from None


def json_body(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    raw = raw_body(event)
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise PayloadTooLarge("a JSON request body may be at most 16 KiB")
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("the request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("the request body must be a JSON object")
    name = payload.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidRequest("name must be a string")
    return payload
