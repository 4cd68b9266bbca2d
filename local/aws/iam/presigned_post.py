"""Presigned S3 POSTs (browser form uploads), verified as AWS verifies them.

The form carries a base64 policy and its signature (SigV4 `x-amz-signature`, or SigV2 `signature`
with `AWSAccessKeyId`). AWS refuses the upload unless the signature matches the signer's secret,
the policy has not expired, every condition holds (exact values, `starts-with`,
`content-length-range` on the file's size), and every form field is covered by a condition. moto
checks none of this, so a policy that would refuse an upload on AWS would accept it locally.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from local.aws.iam.presigned import PresignError, signing_key

# Fields AWS does not require a condition for.
_UNCONDITIONED = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}


def post_access_key(fields: Mapping[str, str]) -> str | None:
    credential = _field(fields, "x-amz-credential")
    if credential:
        return credential.split("/", 1)[0]
    return _field(fields, "AWSAccessKeyId")


def verify_post(
    fields: Mapping[str, str], file_size: int, bucket: str, secret_key: str, now: dt.datetime | None = None
) -> None:
    policy_b64 = _field(fields, "policy")
    if not policy_b64:
        raise PresignError("AccessDenied: the form carries no policy")
    _verify_signature(fields, policy_b64, secret_key)
    try:
        policy = json.loads(base64.b64decode(policy_b64))
        expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        raise PresignError("AccessDenied: Invalid Policy: the policy is not valid JSON with an expiration") from None
    if (now or dt.datetime.now(dt.UTC)) > expires:
        raise PresignError("AccessDenied: Invalid according to Policy: Policy expired.")
    values = {name.lower(): value for name, value in fields.items()} | {"bucket": bucket}
    covered = {"bucket"}
    for condition in policy.get("conditions") or []:
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
        credential = _field(fields, "x-amz-credential") or ""
        try:
            _, date, region, service, _ = credential.split("/")
        except ValueError:
            raise PresignError("AccessDenied: malformed x-amz-credential") from None
        key = signing_key(secret_key, date, region, service)
        expected = hmac.new(key, policy_b64.encode(), hashlib.sha256).hexdigest()
    else:
        signature = _field(fields, "signature") or ""
        expected = base64.b64encode(hmac.new(secret_key.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise PresignError(
            "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided"
        )


def _check(condition: Any, values: Mapping[str, str], file_size: int) -> set[str]:
    """The field names the condition covers; raises PresignError if it fails."""
    if isinstance(condition, dict):
        covered = set()
        for name, expected in condition.items():
            if values.get(name.lower()) != expected:
                raise _failed(["eq", f"${name}", expected])
            covered.add(name.lower())
        return covered
    operator, *arguments = condition
    operator = str(operator).lower()
    if operator == "content-length-range":
        low, high = (int(a) for a in arguments)
        if not low <= file_size <= high:
            raise PresignError(
                f"EntityTooLarge: Your proposed upload is {file_size} bytes, outside the policy's range {low} to {high}"
                if file_size > high
                else f"EntityTooSmall: Your proposed upload is {file_size} bytes, below the policy's minimum {low}"
            )
        return set()
    name, expected = str(arguments[0]).lstrip("$").lower(), str(arguments[1])
    actual = values.get(name, "")
    if (operator == "eq" and actual != expected) or (operator == "starts-with" and not actual.startswith(expected)):
        raise _failed(condition)
    if operator not in ("eq", "starts-with"):
        raise PresignError(f"AccessDenied: Invalid Policy: unknown condition {operator!r}")
    return {name}


def _failed(condition: Any) -> PresignError:
    return PresignError(f"AccessDenied: Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}")


def _field(fields: Mapping[str, str], name: str) -> str | None:
    for key, value in fields.items():
        if key.lower() == name.lower():
            return value
    return None
