"""Who may call which operation, when the local stack enforces IAM.

The stack passes `LOCAL_CALLER_REKOGNITION`: for each function's access key, its role's session ARN
and the Rekognition operations the role allows (Rekognition's Detect* actions take no resource,
so the stack decides them once, on `*`). A caller not listed, such as a test, is not checked.
"""

from __future__ import annotations

import json
import os
import re

from .errors import RekognitionError

_ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")


def authorize(authorization: str | None, operation: str) -> None:
    """Raises AccessDeniedException, as Rekognition does, when the caller's role lacks the action."""
    match = _ACCESS_KEY.search(authorization or "")
    callers = json.loads(os.environ.get("LOCAL_CALLER_REKOGNITION") or "{}")
    caller = callers.get(match.group(1)) if match else None
    if caller is None or operation in caller["allowed"]:
        return
    message = (
        f"User: {caller['arn']} is not authorized to perform: rekognition:{operation} "
        f"because no identity-based policy allows the rekognition:{operation} action"
    )
    # The stack reads this service's output: a denial it sees there stops `make local-e2e`, named.
    print(f"IAM denied: {message}", flush=True)
    raise RekognitionError("AccessDeniedException", message)
