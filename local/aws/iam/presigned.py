"""Presigned URLs, verified as AWS verifies them: the query signature (SigV4, or SigV2 which boto3
still uses for S3 in us-east-1 by default), and the expiry.

moto checks neither (see ../shared/FACTS.md), so a URL signed with the wrong secret, altered after
signing, or used after it expired would work locally and fail on AWS.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from typing import Any


class PresignError(Exception):
    """The presigned request is not valid; the message says why, as AWS's does."""


# The sub-resources SigV2 signs as part of the resource.
_SIGNED_SUBRESOURCES = ("acl", "tagging", "uploadId", "uploads", "partNumber", "versionId", "versions")
_SIGNED_OVERRIDES = ("response-cache-control", "response-content-disposition", "response-content-encoding")
_SIGNED_OVERRIDES += ("response-content-language", "response-content-type", "response-expires")


def is_presigned(query: Mapping[str, Any]) -> bool:
    return "X-Amz-Signature" in query or ("Signature" in query and "AWSAccessKeyId" in query)


def verify_presigned(environ: Mapping[str, Any], secret_key: str, now: dt.datetime | None = None) -> None:
    pairs = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    params = dict(pairs)
    now = now or dt.datetime.now(dt.UTC)
    if "X-Amz-Signature" not in params:
        _verify_v2(environ, params, secret_key, now)
        return
    try:
        signed_at = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        expires = int(params["X-Amz-Expires"])
        credential = params["X-Amz-Credential"]
        signed_headers = params["X-Amz-SignedHeaders"].split(";")
        signature = params["X-Amz-Signature"]
    except (KeyError, ValueError) as error:
        raise PresignError(f"AuthorizationQueryParametersError: missing or malformed {error}") from None
    if now > signed_at + dt.timedelta(seconds=expires):
        raise PresignError("AccessDenied: Request has expired")
    _, date, region, service, _ = credential.split("/")
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs) if k != "X-Amz-Signature")
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    headers.setdefault("content-type", environ.get("CONTENT_TYPE", ""))
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_headers)
    raw_path = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")).split("?", 1)[
        0
    ]
    canonical_request = "\n".join(
        [
            environ["REQUEST_METHOD"],
            raw_path,
            canonical_query,
            canonical_headers,
            ";".join(signed_headers),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    expected = hmac.new(
        signing_key(secret_key, date, region, service), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise PresignError(
            "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided"
        )


def _verify_v2(environ: Mapping[str, Any], params: Mapping[str, str], secret_key: str, now: dt.datetime) -> None:
    try:
        expires = int(params["Expires"])
        signature = params["Signature"]
    except (KeyError, ValueError) as error:
        raise PresignError(f"AccessDenied: missing or malformed {error}") from None
    if now.timestamp() > expires:
        raise PresignError("AccessDenied: Request has expired")
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    amz_headers = "".join(f"{k}:{headers[k].strip()}\n" for k in sorted(headers) if k.startswith("x-amz-"))
    raw_path = str(environ.get("RAW_URI") or environ.get("PATH_INFO", "/")).split("?", 1)[0]
    signed = sorted((k, v) for k, v in params.items() if k in _SIGNED_SUBRESOURCES + _SIGNED_OVERRIDES)
    resource = raw_path + ("?" + "&".join(f"{k}={v}" if v else k for k, v in signed) if signed else "")
    content_md5 = headers.get("content-md5", "")
    content_type = environ.get("CONTENT_TYPE", "") or headers.get("content-type", "")
    string_to_sign = f"{environ['REQUEST_METHOD']}\n{content_md5}\n{content_type}\n{expires}\n{amz_headers}{resource}"
    digest = hmac.new(secret_key.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
        raise PresignError(
            "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided"
        )


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")
