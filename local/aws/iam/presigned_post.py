"""Presigned S3 POSTs (browser form uploads), verified as AWS verifies them, refused with S3's codes.

The form carries a base64 policy and its signature (SigV4 `x-amz-signature`, or SigV2 `signature`
with `AWSAccessKeyId`). AWS refuses the upload unless the signature matches the signer's secret,
the policy has not expired, every condition holds (exact values, `starts-with`,
`content-length-range` on the file's size), and every form field is covered by a condition. moto
checks none of this, so a policy that would refuse an upload on AWS would accept it locally.

Both local layers that see a POST verify it here: the IAM layer (local/aws/iam/guard.py) for a
function role's key, and the S3 gate (local/aws/s3_post_gate.py) for every key it knows.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from local.aws.iam.presigned import PresignError, signing_key

# Fields AWS does not require a condition for.
_UNCONDITIONED = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}
# The refusals S3 answers with 400 Bad Request; it answers every other refusal of a POST with 403.
_BAD_REQUEST = frozenset({"EntityTooLarge", "EntityTooSmall", "InvalidPolicyDocument", "InvalidArgument"})


def post_access_key(fields: Mapping[str, str]) -> str | None:
    credential = _field(fields, "x-amz-credential")
    if credential:
        return credential.split("/", 1)[0]
    return _field(fields, "AWSAccessKeyId")


def s3_refusal(error: PresignError) -> tuple[int, str, str]:
    """The HTTP status, S3 error code and message that S3 answers a refused POST with."""
    code, _, message = str(error).partition(": ")
    return (400 if code in _BAD_REQUEST else 403), code, message


def verify_post(
    fields: Mapping[str, str], file_size: int, bucket: str, secret_key: str, now: dt.datetime | None = None
) -> None:
    """Raises PresignError, its message "<S3 error code>: <S3's message>", unless S3 would store the upload."""
    policy_b64 = _field(fields, "policy")
    if not policy_b64:
        raise PresignError("AccessDenied: Bucket POST must contain a field named 'policy'.")
    _verify_signature(fields, policy_b64, secret_key)
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
        expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise PresignError("InvalidPolicyDocument: Invalid Policy: Invalid JSON.") from None
    if (now or dt.datetime.now(dt.UTC)) > expires:
        raise PresignError("AccessDenied: Invalid according to Policy: Policy expired.")
    values = {name.lower(): value for name, value in fields.items()} | {"bucket": bucket}
    covered = {"bucket"}
    for condition in conditions:
        covered |= _check(condition, values, file_size)
    uncovered = sorted(
        name
        for name in values
        if name not in covered and name not in _UNCONDITIONED and not name.startswith("x-ignore-")
    )
    if uncovered:
        raise PresignError(f"AccessDenied: Invalid according to Policy: Extra input fields: {', '.join(uncovered)}")


def _verify_signature(fields: Mapping[str, str], policy_b64: str, secret_key: str) -> None:
    signature = _field(fields, "x-amz-signature")
    if signature:
        credential = (_field(fields, "x-amz-credential") or "").split("/")
        if len(credential) != 5 or credential[3:] != ["s3", "aws4_request"]:
            raise PresignError("InvalidArgument: x-amz-credential is malformed.")
        _, date, region, service, _ = credential
        key = signing_key(secret_key, date, region, service)
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    else:
        signature = _field(fields, "signature") or ""
        expected = base64.b64encode(hmac.new(secret_key.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise PresignError(
            "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided."
        )


def _check(condition: Any, values: Mapping[str, str], file_size: int) -> set[str]:
    """The field names the condition covers; raises PresignError if it fails or is not a condition."""
    if isinstance(condition, dict) and condition:
        covered = set()
        for name, expected in condition.items():
            if values.get(name.lower()) != expected:
                raise _failed(["eq", f"${name}", expected])
            covered.add(name.lower())
        return covered
    if not isinstance(condition, list) or len(condition) != 3:
        raise _invalid(condition)
    operator = str(condition[0]).lower()
    if operator == "content-length-range":
        try:
            low, high = int(condition[1]), int(condition[2])
        except (TypeError, ValueError):
            raise _invalid(condition) from None
        if file_size > high:
            raise PresignError("EntityTooLarge: Your proposed upload exceeds the maximum allowed size")
        if file_size < low:
            raise PresignError("EntityTooSmall: Your proposed upload is smaller than the minimum allowed size")
        return set()
    if operator not in ("eq", "starts-with") or not str(condition[1]).startswith("$"):
        raise _invalid(condition)
    name, expected = str(condition[1])[1:].lower(), str(condition[2])
    actual = values.get(name, "")
    if (operator == "eq" and actual != expected) or (operator == "starts-with" and not actual.startswith(expected)):
        raise _failed(condition)
    return {name}


def _failed(condition: Any) -> PresignError:
    return PresignError(f"AccessDenied: Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


def _invalid(condition: Any) -> PresignError:
    return PresignError(f"InvalidPolicyDocument: Invalid Policy: Invalid Condition: {json.dumps(condition)}")


def _field(fields: Mapping[str, str], name: str) -> str | None:
    for key, value in fields.items():
        if key.lower() == name.lower():
            return value
    return None
