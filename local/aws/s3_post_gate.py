"""What S3 checks on a browser's POST upload and on cross-origin requests, which moto does not.

moto stores whatever a form POST sends: it checks neither the signature nor the policy (expiry,
key, content type, size range), and its server answers every origin's CORS request with
`Access-Control-Allow-Origin` set to that origin. This WSGI layer sits in front of moto's server and
does what S3 does, with S3's status codes and error XML:

- a `multipart/form-data` POST to a bucket must carry a SigV4 policy signed with a known key, and
  pass local/aws/iam/presigned_post.py's `verify_post`: the policy must not have expired, every
  condition must hold (`eq`, `starts-with`, exact match, `content-length-range`), and every form
  field but the signature, the policy, the file and `x-ignore-*` fields must be named by a condition;
- CORS: a preflight (OPTIONS) or a request with an `Origin` header to an S3 path is answered by
  the bucket's CORS rules, as moto stores them; no matching rule means no CORS headers, and a
  403 for a preflight.

With IAM enforced, the IAM layer (local/aws/iam/) sits in front of this gate and also authorizes
the POST as its signer; this gate knows the roles' keys through the emulator's `post_secret`.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from local.aws.iam.presigned import PresignError
from local.aws.iam.presigned_post import post_access_key, s3_refusal, verify_post

# Big enough for any upload this project allows (15 MiB) plus the form around it.
MAX_FORM_BYTES = 64 * 1024 * 1024

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class S3PostGate:
    def __init__(
        self,
        app: WsgiApp,
        secrets: Mapping[str, str],
        cors_rules: Callable[[str], list[Any] | None],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.app = app
        self.secrets = secrets
        self.cors_rules = cors_rules
        self.now = now

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        bucket = _bucket_of(environ)
        origin = environ.get("HTTP_ORIGIN")
        if bucket is None or not _is_s3_request(environ):
            return self.app(environ, start_response)
        method = environ["REQUEST_METHOD"]
        if method == "OPTIONS" and origin:
            return self._preflight(environ, start_response, bucket, origin)
        if method == "POST" and _is_form(environ):
            try:
                self._check_post(environ, bucket)
            except Refused as refused:
                return _error(start_response, refused, self._cors_headers(bucket, origin, "POST"))
        if not origin:
            return self.app(environ, start_response)
        cors = self._cors_headers(bucket, origin, method)

        def with_bucket_cors(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-") and k.lower() != "vary"]
            return start_response(status, kept + cors, *rest)

        return self.app(environ, with_bucket_cors)

    # --- CORS ----------------------------------------------------------------------------------
    def _matching_rule(self, bucket: str, origin: str | None, method: str) -> Any:
        if not origin:
            return None
        for rule in self.cors_rules(bucket) or []:
            if method in (rule.allowed_methods or []) and any(
                _origin_matches(pattern, origin) for pattern in rule.allowed_origins or []
            ):
                return rule
        return None

    def _cors_headers(self, bucket: str, origin: str | None, method: str) -> list[tuple[str, str]]:
        rule = self._matching_rule(bucket, origin, method)
        if rule is None or origin is None:
            return []
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)),
            ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"),
        ]
        if rule.exposed_headers:
            headers.append(("Access-Control-Expose-Headers", ", ".join(rule.exposed_headers)))
        return headers

    def _preflight(
        self, environ: dict[str, Any], start_response: Callable[..., Any], bucket: str, origin: str
    ) -> Iterable[bytes]:
        method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")
        rule = self._matching_rule(bucket, origin, method)
        requested = [h.strip().lower() for h in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",")]
        allowed = [h.lower() for h in (rule.allowed_headers or [])] if rule else []
        if rule is None or not all(not h or "*" in allowed or h in allowed for h in requested):
            return _error(
                start_response,
                Refused(
                    403,
                    "AccessForbidden",
                    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
                    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
                    "are not whitelisted by the resource's CORS spec.",
                ),
                [],
            )
        headers = self._cors_headers(bucket, origin, method)
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"):
            headers.append(("Access-Control-Allow-Headers", environ["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"]))
        if rule.max_age_seconds:
            headers.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
        start_response("200 OK", [*headers, ("Content-Length", "0")])
        return [b""]

    # --- POST policy ---------------------------------------------------------------------------
    def _check_post(self, environ: dict[str, Any], bucket: str) -> None:
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the form again
        fields, file_size = _parse_form(environ, body)
        if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            raise Refused(400, "InvalidArgument", "Only the AWS4-HMAC-SHA256 (SigV4) POST signature is accepted.")
        secret = self.secrets.get(post_access_key(fields) or "")
        if secret is None:
            raise Refused(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        try:
            verify_post(fields, file_size, bucket, secret, now=self.now())
        except PresignError as error:
            raise Refused(*s3_refusal(error)) from None


def _parse_form(environ: dict[str, Any], body: bytes) -> tuple[dict[str, str], int]:
    from werkzeug.formparser import parse_form_data

    copy = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    _, form, files = parse_form_data(copy)
    fields = {name.lower(): value for name, value in form.items()}
    upload = files.get("file")
    if upload is None:
        raise Refused(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    return fields, len(upload.read())


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed.") from None
    if length > MAX_FORM_BYTES:
        raise Refused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    return environ["wsgi.input"].read(length)


def _bucket_of(environ: dict[str, Any]) -> str | None:
    segments = environ.get("PATH_INFO", "").lstrip("/").split("/")
    bucket = segments[0]
    if not bucket or bucket in ("moto-api", "_ministack") or ":" in bucket:
        return None
    return bucket


def _is_form(environ: dict[str, Any]) -> bool:
    return environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data")


def _is_s3_request(environ: dict[str, Any]) -> bool:
    """S3's browser-facing requests: form POSTs, presigned URLs, and preflights of either."""
    if environ["REQUEST_METHOD"] == "OPTIONS" or (environ["REQUEST_METHOD"] == "POST" and _is_form(environ)):
        return True
    credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    return "/s3/" in credential or "/s3/aws4_request" in authorization


def _origin_matches(pattern: str, origin: str) -> bool:
    if "*" not in pattern:
        return pattern == origin
    head, _, tail = pattern.partition("*")
    return origin.startswith(head) and origin.endswith(tail) and len(origin) >= len(head) + len(tail)


def _error(start_response: Callable[..., Any], refused: Refused, headers: list[tuple[str, str]]) -> Iterable[bytes]:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{refused.code}</Code><Message>{escape(refused.message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>local</HostId></Error>"
    ).encode()
    reason = {400: "Bad Request", 403: "Forbidden"}.get(refused.status, "Error")
    start_response(
        f"{refused.status} {reason}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("Connection", "close"), *headers],
    )
    return [body]
