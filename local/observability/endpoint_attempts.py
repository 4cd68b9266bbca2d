"""Each subscribed endpoint's delivery attempts for one image, read from the deliver function's logs.

The fan-out logs which endpoints an event was queued for (`endpoint_ids`); each attempt on an
endpoint's message logs its `endpoint_id`, `webhook_id`, try number, action (delivered, retry,
permanent, skipped), the receiver's HTTP status (`status_code`, absent without an answer), reason
(the status or the transport error), when its POST began and how long it took, the wait before the
next try, and `replay` when it is a replay's sending (POST /webhooks/{id}/replay). The lines carry no
URL and no secret, so neither does this listing: an endpoint is named by its id, as `GET /webhooks/{id}` names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.observability.logs import line_ms

FANNED_OUT = "queued for the owner's endpoints"
OUTCOME = {"delivered": "delivered", "retry": "failing", "permanent": "failed for good", "skipped": "skipped"}


@dataclass(frozen=True)
class Attempt:
    at_ms: float | None  # when its POST began, else when it was logged: epoch milliseconds
    number: int | None
    action: str
    reason: str
    post_ms: float | None = None
    retry_in_seconds: float | None = None
    status_code: int | None = None  # the receiver's answer; None without one, or in lines that predate it
    replay: bool = False

    @property
    def result(self) -> str:
        """The HTTP status when there was an answer, then the reason where it says more."""
        if self.status_code is None:
            return self.reason
        status = f"HTTP {self.status_code}"
        return status if self.reason in ("", status) else f"{status}: {self.reason}"


@dataclass
class EndpointTrail:
    """One event's way to one endpoint."""

    endpoint_id: str
    webhook_id: str
    event_type: str = ""
    queued_ms: float | None = None  # when the fan-out queued it, if its line is there
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if not self.attempts:
            return "queued, no attempt logged yet"
        last = self.attempts[-1]
        tries = sum(1 for a in self.attempts if a.action != "skipped")
        if not tries:
            return "skipped, never sent"
        summary = f"{OUTCOME.get(last.action, last.action)} after {tries} {'try' if tries == 1 else 'tries'}"
        return summary + ("; a retry is scheduled" if last.action == "retry" else "")


def endpoint_trails(entries: Iterable[Mapping[str, Any]]) -> list[EndpointTrail]:
    """The trails in the order their endpoints were first queued or tried; `entries`: the image's lines."""
    trails: dict[tuple[str, str], EndpointTrail] = {}

    def trail(endpoint_id: str, entry: Mapping[str, Any]) -> EndpointTrail:
        key = (endpoint_id, str(entry.get("webhook_id", "")))
        if key not in trails:
            trails[key] = EndpointTrail(endpoint_id, key[1])
        found = trails[key]
        found.event_type = found.event_type or str(entry.get("event_type") or "")
        return found

    for entry in sorted(entries, key=lambda e: line_ms(e) or 0):
        if entry.get("message") == FANNED_OUT:
            for endpoint_id in entry.get("endpoint_ids") or ():
                queued = trail(str(endpoint_id), entry)
                queued.queued_ms = queued.queued_ms or line_ms(entry)
        elif entry.get("endpoint_id") and "action" in entry:
            trail(str(entry["endpoint_id"]), entry).attempts.append(_attempt(entry))
    return list(trails.values())


def _attempt(entry: Mapping[str, Any]) -> Attempt:
    started = entry.get("post_started_ms")
    number = entry.get("attempt")
    return Attempt(
        at_ms=float(started) if started else line_ms(entry),
        number=int(number) if number is not None else None,
        action=str(entry.get("action")),
        reason=str(entry.get("reason") or ""),
        post_ms=float(entry["post_ms"]) if started and entry.get("post_ms") is not None else None,
        retry_in_seconds=entry.get("retry_in_seconds"),
        status_code=int(entry["status_code"]) if entry.get("status_code") is not None else None,
        replay=bool(entry.get("replay")),
    )


def render(trails: list[EndpointTrail], origin_ms: float | None) -> list[str]:
    """Lines for the trace: an endpoint each, then its attempts, timed from `origin_ms` (the upload)."""
    if not trails:
        return []

    def offset(ms: float | None) -> str:
        if ms is None:
            return "?".rjust(9)
        return f"{ms - origin_ms:>6.0f} ms" if origin_ms is not None else f"{ms:>.0f}"

    lines = [f"endpoints: {len({t.endpoint_id for t in trails})} subscribed endpoint(s) queued or tried for this image"]
    for t in trails:
        event = " ".join(part for part in (t.webhook_id, t.event_type) if part)
        lines.append(f"  endpoint {t.endpoint_id}, {event}: {t.outcome}")
        if t.queued_ms is not None:
            lines.append(f"  {offset(t.queued_ms)}  queued by the fan-out")
        for a in t.attempts:
            post = f"POST {a.post_ms:.0f} ms" if a.post_ms is not None else "no POST"
            retry = f"; retry in {a.retry_in_seconds:g} s" if a.retry_in_seconds is not None else ""
            number = f"try {a.number}" if a.number is not None else "try ?"
            result = a.result + retry + (" (a replay)" if a.replay else "")
            lines.append(f"  {offset(a.at_ms)}  {number:<6} {a.action:<9} {post:<12} {result}".rstrip())
    return lines
