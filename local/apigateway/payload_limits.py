"""Lambda's synchronous invocation payload limits, as the HTTP API meets them.

API Gateway takes bodies up to 10 MB, but the Lambda integration carries the whole event, headers
and all, with a binary body base64-encoded, inside one invocation of at most 6 MB: about 4.4 MB of
image. The response the function returns is limited the same way. docs/fidelity.md records what
AWS answers in each case, and where that comes from.
"""

from __future__ import annotations

import json
from typing import Any

# Lambda's own figures: "Request must be smaller than 6291456 bytes for the InvokeFunction
# operation"; a response may be 100 bytes longer.
MAX_REQUEST_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100
# Smaller bodies cannot bring an event near the limit (headers are capped far below it), so
# only larger ones are measured exactly.
_MEASURE_ABOVE_BYTES = 1024 * 1024


def request_too_large(event: dict[str, Any]) -> bool:
    if len(event.get("body") or "") < _MEASURE_ABOVE_BYTES:
        return False
    return _json_size(event) > MAX_REQUEST_PAYLOAD_BYTES


def response_too_large(result: Any) -> bool:
    body = result.get("body") if isinstance(result, dict) else result
    if isinstance(body, str | bytes) and len(body) < _MEASURE_ABOVE_BYTES:
        return False
    return _json_size(result) > MAX_RESPONSE_PAYLOAD_BYTES


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())
