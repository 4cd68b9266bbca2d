"""Standard Webhooks v1: signing, verification, and the retry policy for responses.

Signature: base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), sent as `v1,<signature>`, where
the key is the base64 part of a `whsec_...` secret. See https://www.standardwebhooks.com/.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    pass


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # Deliberately no secret text in the message: it ends up in logs.
        raise ValueError("webhook secret is not a valid whsec_<base64> value") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, body: bytes, now: int | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raises WebhookVerificationError unless one of the v1 signatures matches and the timestamp is fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        signatures = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        raise WebhookVerificationError("missing or malformed webhook headers") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook timestamp is outside the tolerance window")
    expected = sign(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookVerificationError("no matching webhook signature")


# --- what to do with a receiver's answer -----------------------------------------------------------
DELIVERED = "delivered"
RETRY = "retry"
PERMANENT = "permanent"


@dataclass(frozen=True)
class Decision:
    action: str  # DELIVERED, RETRY or PERMANENT
    reason: str
    delay_seconds: int = 0
    post_ms: float = 0.0  # how long the POST took, for the logs
    post_started_ms: int | None = None  # when it began, epoch milliseconds: places the try on a timeline


def backoff_seconds(attempt: int, base: int, maximum: int, rand: random.Random | None = None) -> int:
    """Exponential backoff with full jitter: attempt 1 waits up to `base`, then doubling, capped."""
    ceiling = min(maximum, base * 2 ** max(0, attempt - 1))
    return int((rand or random).uniform(ceiling / 2, ceiling)) if ceiling else 0


def parse_retry_after(value: str | None, now: float | None = None) -> int | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0, int(when - (time.time() if now is None else now)))


def decide(
    status: int | None,
    retry_after: str | None,
    attempt: int,
    base: int,
    maximum: int,
    error: str | None = None,
) -> Decision:
    """2xx delivered; 408, 429, 5xx and transport errors retried; any other status is permanent."""
    if status is not None and 200 <= status < 300:
        return Decision(DELIVERED, f"HTTP {status}")
    if status is None or status in (408, 429) or status >= 500:
        reason = error or f"HTTP {status}"
        delay = backoff_seconds(attempt, base, maximum)
        honoured = parse_retry_after(retry_after)
        if honoured is not None:
            delay = min(maximum, max(delay, honoured))
        return Decision(RETRY, reason, delay)
    return Decision(PERMANENT, f"HTTP {status}: the receiver refused the event; it will not be retried")
