"""When an endpoint that keeps failing is disabled: the rule, and the reason it is disabled with.

An endpoint is failing from its first failed attempt after a success (or since it was created or
enabled) until its next 2xx; `failing_since` on its record says from when. A failed attempt at
least the span after that, with no success in between, disables it. The span is the stage's
`webhookDisableAfterSeconds` (5 days unless set), so a receiver down for a weekend is retried and
one gone for good stops costing tries.
"""

from __future__ import annotations

from lib.domain.model import parse_utc

DEFAULT_DISABLE_AFTER_SECONDS = 5 * 24 * 3600
# Why an attempt disabled its endpoint, as the WebhookEndpointsDisabled metric's Cause says it.
GONE = "gone"  # the receiver answered 410 Gone
FAILING = "failing"  # every attempt failed for the whole span


def failing_for(failing_since: str, now: float) -> float:
    """Seconds the endpoint has been failing at `now`; 0 when `failing_since` is not a timestamp."""
    since = parse_utc(failing_since)
    return 0.0 if since is None else max(0.0, now - since)


def failing_too_long(failing_since: str, now: float, span_seconds: int) -> bool:
    return bool(failing_since) and failing_for(failing_since, now) >= span_seconds


def auto_disable_reason(last_failure: str, failing_since: str, span_seconds: int) -> str:
    """What GET /webhooks/{id} shows: what failed, since when, the span, and how to turn it back on."""
    return (
        f"disabled automatically: every attempt has failed since {failing_since} (the last: {last_failure}),"
        f" for at least {describe_span(span_seconds)} with no success; PATCH enabled: true turns it back on"
    )


def describe_span(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
