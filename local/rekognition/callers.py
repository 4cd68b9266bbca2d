"""Who is calling, and what they may do, when the local stack enforces IAM.

The stack passes `LOCAL_REKOGNITION_CALLERS`, a JSON object: for each access key it issued (each
function's role, and the stack's administrator key) the caller's ARN, its secret key, and the
Rekognition operations its policies allow (Detect* actions take no resource, so the stack decides
them once, on `*`). With it the service fails closed, as Rekognition does: a request that is not
signed, or is signed with a key not listed, is refused, and an S3 object is read with the caller's
own credentials, never the service's (s3_source.py).

Without it (the service started on its own, or behind an emulator that enforces nothing, such as
ministack without `AUTH=true`), no caller is checked and S3 is read with the service's own
credentials: docs/fidelity.md lists that as a gap.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass

from .errors import RekognitionError

CALLERS_VARIABLE = "LOCAL_REKOGNITION_CALLERS"
_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


@dataclass(frozen=True)
class Caller:
    access_key: str
    secret_key: str
    arn: str
    allowed: frozenset[str]


def identify(authorization: str | None) -> Caller | None:
    """The caller of a request, or None when IAM is not enforced. Raises Rekognition's own errors
    for an unsigned request and for a key the stack did not issue."""
    registry = _registry(os.environ.get(CALLERS_VARIABLE))
    if registry is None:
        return None
    match = _ACCESS_KEY.search(authorization or "")
    if match is None:
        raise _denied(
            RekognitionError(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token: the request is not signed, and the local stack enforces IAM",
                status=403,
            )
        )
    caller = registry.get(match.group(1))
    if caller is None:
        raise _denied(
            RekognitionError(
                "UnrecognizedClientException",
                f"The security token included in the request is invalid: access key {match.group(1)} is neither "
                "a function's role nor the stack's administrator key",
            )
        )
    return caller


def authorize(caller: Caller | None, operation: str) -> None:
    """Raises AccessDeniedException, as Rekognition does, when the caller's policies lack the action."""
    if caller is None or operation in caller.allowed:
        return
    raise _denied(
        RekognitionError(
            "AccessDeniedException",
            f"User: {caller.arn} is not authorized to perform: rekognition:{operation} "
            f"because no identity-based policy allows the rekognition:{operation} action",
        )
    )


def _denied(error: RekognitionError) -> RekognitionError:
    # The stack reads this service's output: a denial it sees there stops `make local-e2e`, named.
    print(f"IAM denied: {error.message}", flush=True)
    return error


@functools.lru_cache(maxsize=4)
def _registry(declared: str | None) -> dict[str, Caller] | None:
    if declared is None:
        return None
    return {
        access_key: Caller(access_key, entry["secret"], entry["arn"], frozenset(entry["allowed"]))
        for access_key, entry in json.loads(declared).items()
    }
