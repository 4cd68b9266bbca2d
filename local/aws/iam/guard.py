"""The authorizing layer in front of the emulator: a WSGI middleware around moto's server app.

Every signed request is attributed to a caller by its access key. A function's key maps to its
role (see roles.py): the request is mapped to IAM actions and resource ARNs (operations.py) and
checked against the role's statements and the bucket's policy, and refused as AWS refuses it,
naming the role, the action and the resource. The stack's administrator key (provisioning, and the
tools and tests that inspect state: local/aws/credentials.py) is not checked. The layer fails
closed: any other key is refused as AWS refuses a key it does not know, and an unsigned request
only passes if AWS serves it unsigned too (public.py). Whoever calls, messages and items over AWS's
size limits are refused with AWS's errors (local/aws/limits.py).
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from local.aws import limits
from local.aws.credentials import ADMIN_ACCESS_KEY
from local.aws.iam.operations import Call, HttpRequest, Unmapped, describe
from local.aws.iam.policy import Request, Statement, decide
from local.aws.iam.presigned import PresignError, is_presigned, verify_presigned
from local.aws.iam.presigned_post import post_access_key, s3_refusal, verify_post
from local.aws.iam.public import is_public, unsigned_refusal
from local.aws.iam.roles import FunctionRole

logger = logging.getLogger("local.aws.iam")

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# The codes AWS answers a denial with, by service.
_DENIAL_CODES = {"sns": "AuthorizationError", "sqs": "AccessDenied", "s3": "AccessDenied"}
# Keys that hold on every local call: the local endpoints are plain HTTP (a named gap, see docs/fidelity.md).
_CONTEXT = {"aws:securetransport": "true"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AccessGuard:
    def __init__(self, account_id: str):
        self.app: WsgiApp | None = None
        self.account_id = account_id
        self._roles: dict[str, FunctionRole] = {}
        self._bucket_policies: dict[str, tuple[Statement, ...]] = {}
        self._kms_aliases: dict[str, str] = {}
        self._lock = threading.Lock()
        self.denials: list[str] = []

    def configure(
        self,
        roles: Iterable[FunctionRole],
        bucket_policies: Mapping[str, tuple[Statement, ...]],
        kms_aliases: Mapping[str, str] | None = None,
    ) -> None:
        with self._lock:
            self._roles = {role.credentials.access_key: role for role in roles}
            self._bucket_policies = dict(bucket_policies)
            self._kms_aliases = dict(kms_aliases or {})

    def wrap(self, app: WsgiApp) -> AccessGuard:
        self.app = app
        return self

    def role_of(self, access_key: str) -> FunctionRole | None:
        return self._roles.get(access_key)

    def secret_of(self, access_key: str) -> str | None:
        """The secret key of a function's role, for checks that verify its signatures after this one."""
        role = self._roles.get(access_key)
        return role.credentials.secret_key if role is not None else None

    # --- WSGI ---------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None, "wrap() the emulator's app first"
        if environ["REQUEST_METHOD"] == "POST" and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            # A presigned POST: signed in its form, which the S3 POST gate behind this one verifies.
            refused = self._form_upload(environ, start_response)
            return self.app(environ, start_response) if refused is None else refused
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        scope = _credential_scope(environ.get("HTTP_AUTHORIZATION", ""), query)
        if scope is None:
            if is_public(environ):
                return self.app(environ, start_response)
            status, protocol, code, message = unsigned_refusal(environ)
            return self._refuse(start_response, status, "", protocol, code, message)
        access_key, region, service = scope
        body = b""
        # S3 bodies are images, possibly chunked, and its checks need none, but for DeleteObjects'
        # list of keys, each of which is checked.
        if service != "s3" or (environ["REQUEST_METHOD"] == "POST" and "delete" in query):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
        request = HttpRequest(
            method=environ["REQUEST_METHOD"],
            path=urllib.parse.unquote(environ.get("PATH_INFO", "")),
            query=query,
            headers={k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            | {"content-type": environ.get("CONTENT_TYPE", "")},
            body=body,
            region=region,
            account=self.account_id,
        )
        role = self._roles.get(access_key)
        if role is None and access_key != ADMIN_ACCESS_KEY:
            return self._unknown_key(start_response, service, _protocol(service, request), access_key)
        try:
            call = describe(service, request, self._kms_aliases)
        except Unmapped as unmapped:
            if role is None:
                return self.app(environ, start_response)
            return self._deny(
                start_response,
                service,
                _protocol(service, request),
                f"{role.arn} made a request the local IAM layer cannot authorize: {unmapped}; it is denied",
            )
        if role is not None:
            refusal = self._authorize(role, call, environ, query)
            if refusal is not None:
                return self._deny(start_response, service, call.protocol, refusal)
        exceeded = limits.check(service, call.operation, call.body)
        if exceeded is not None:
            return _error(start_response, 400, service, call.protocol, exceeded.code, exceeded.message)
        return self.app(environ, start_response)

    def _form_upload(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        """A presigned POST to a bucket: verified and authorized as its signer, or refused."""
        from werkzeug.formparser import parse_form_data

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        _, form, files = parse_form_data({**environ, "wsgi.input": io.BytesIO(body)})
        fields = {name: form[name] for name in form}
        role = self._roles.get(post_access_key(fields) or "")
        if role is None:
            return None  # the stack's own or an unsigned upload: moto's to judge
        bucket = urllib.parse.unquote(environ.get("PATH_INFO", "")).strip("/").split("/", 1)[0]
        upload = files.get("file")
        content = upload.read() if upload is not None else b""
        try:
            verify_post(fields, len(content), bucket, role.credentials.secret_key)
        except PresignError as error:
            return self._refuse_presigned(start_response, role, error)
        key = next((v for k, v in fields.items() if k.lower() == "key"), "")
        key = key.replace("${filename}", upload.filename or "") if upload is not None else key
        call = Call("s3", "PostObject", (("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}"),), "rest-xml")
        refusal = self._authorize(role, call, environ, {})
        return None if refusal is None else self._deny(start_response, "s3", "rest-xml", refusal)

    def _refuse_presigned(
        self, start_response: Callable[..., Any], role: FunctionRole, error: PresignError
    ) -> Iterable[bytes]:
        status, code, detail = s3_refusal(error)
        message = f"{role.arn}: the presigned request is refused: {detail}"
        logger.warning("IAM denied: %s", message)
        with self._lock:
            self.denials.append(message)
        return _error(start_response, status, "s3", "rest-xml", code, message)

    # --- decisions ----------------------------------------------------------------------------------
    def _authorize(
        self, role: FunctionRole, call: Call, environ: Mapping[str, Any], query: Mapping[str, list[str]]
    ) -> str | None:
        if is_presigned(query):
            try:
                verify_presigned(environ, role.credentials.secret_key)
            except PresignError as error:
                return f"{role.arn}: the presigned request is refused: {error}"
        for action, resource in call.checks:
            identity = decide(role.statements, Request(action, resource, _CONTEXT))
            bucket = self._bucket_policies.get(_bucket_of(resource), ()) if action.startswith("s3:") else ()
            on_resource = decide(bucket, Request(action, resource, _CONTEXT, principal=("AWS", role.arn)))
            if "Deny" in (identity, on_resource):
                policy = "an identity-based policy" if identity == "Deny" else "a resource-based policy"
                return _not_authorized(role, action, resource, f"with an explicit deny in {policy}")
            if identity != "Allow" and on_resource != "Allow":
                return _not_authorized(
                    role, action, resource, f"because no identity-based policy allows the {action} action"
                )
        return None

    def _deny(self, start_response: Callable[..., Any], service: str, protocol: str, message: str) -> Iterable[bytes]:
        code = _DENIAL_CODES.get(service, "AccessDeniedException")
        status = 400 if protocol == "json" and service != "sqs" else 403
        return self._refuse(start_response, status, service, protocol, code, message)

    def _unknown_key(
        self, start_response: Callable[..., Any], service: str, protocol: str, key: str
    ) -> Iterable[bytes]:
        """Refused as AWS refuses a key it never issued, with each service's own code."""
        why = f"access key {key} is neither a function's role nor the stack's administrator key"
        if service == "s3":
            message = f"The AWS Access Key Id you provided does not exist in our records: {why}"
            return self._refuse(start_response, 403, service, protocol, "InvalidAccessKeyId", message)
        message = f"The security token included in the request is invalid: {why}"
        if protocol == "query" or service in ("sqs", "sns"):
            return self._refuse(start_response, 403, service, protocol, "InvalidClientTokenId", message)
        return self._refuse(start_response, 400, service, protocol, "UnrecognizedClientException", message)

    def _refuse(
        self, start_response: Callable[..., Any], status: int, service: str, protocol: str, code: str, message: str
    ) -> Iterable[bytes]:
        logger.warning("IAM denied: %s", message)
        with self._lock:
            self.denials.append(message)
        return _error(start_response, status, service, protocol, code, message)


def _not_authorized(role: FunctionRole, action: str, resource: str, why: str) -> str:
    return f"User: {role.arn} is not authorized to perform: {action} on resource: {resource} {why}"


def _credential_scope(authorization: str, query: Mapping[str, list[str]]) -> tuple[str, str, str] | None:
    if "AWSAccessKeyId" in query:  # a SigV2 presigned URL: only S3 still takes them
        return query["AWSAccessKeyId"][0], "us-east-1", "s3"
    credential = query.get("X-Amz-Credential", [""])[0]
    if credential:
        parts = credential.split("/")
        return (parts[0], parts[2], parts[3]) if len(parts) == 5 else None
    match = _CREDENTIAL.search(authorization)
    return match.groups() if match else None  # type: ignore[return-value]


def _protocol(service: str, request: HttpRequest) -> str:
    if service == "s3":
        return "rest-xml"
    return "json" if request.headers.get("x-amz-target") else "query"


def _bucket_of(resource: str) -> str:
    return resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]


def _error(
    start_response: Callable[..., Any], status: int, service: str, protocol: str, code: str, message: str
) -> list[bytes]:
    request_id = str(uuid.uuid4())
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
            # SQS speaks JSON but keeps its query-protocol error codes; botocore reads them here.
            ("x-amzn-query-error", f"{code};Sender"),
        ]
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    reason = {400: "Bad Request", 403: "Forbidden"}[status]
    start_response(f"{status} {reason}", headers + [("Content-Length", str(len(body)))])
    return [body]
