"""One image's path through the system, rebuilt from the logs as a waterfall of timed hops.

Every hop is timed by a clock of its own, never by the gap between two log lines: the gateway's
access log times the API request; the runtime's platform lines time each invocation; S3's
`eventTime` and SQS's `SentTimestamp` and `ApproximateFirstReceiveTimestamp`, which the functions
log with each record, time the waits between them; the functions time their own calls. Below the
waterfall, each subscribed endpoint's attempts for the image (local/observability/endpoint_attempts.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.observability.endpoint_attempts import EndpointTrail, endpoint_trails
from local.observability.endpoint_attempts import render as render_endpoints
from local.observability.logs import line_ms

BAR_WIDTH = 40


@dataclass(frozen=True)
class Hop:
    name: str
    start_ms: float  # epoch milliseconds
    duration_ms: float
    depth: int = 0  # 0: a step of the flow; 1: a part of the step above it
    detail: str = ""

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms


@dataclass
class Trace:
    image_id: str
    hops: list[Hop] = field(default_factory=list)
    outcome: str = "unknown"
    missing: list[str] = field(default_factory=list)
    webhook_answered_ms: float | None = None  # end of the try that delivered
    endpoints: list[EndpointTrail] = field(default_factory=list)  # the owner's subscribed endpoints

    @property
    def steps(self) -> list[Hop]:
        return [hop for hop in self.hops if hop.depth == 0]

    @property
    def sum_of_steps_ms(self) -> float:
        """The steps' durations added up, up to the webhook's answer, a moment two steps share once.

        Steps overlap a little where one hop starts inside another: the S3 event fires inside the
        upload's PutObject, the results queue receives inside recognize's publish, and deliver
        records the delivery after the receiver has answered.
        """
        limit = self.webhook_answered_ms if self.webhook_answered_ms is not None else float("inf")
        total, covered_until = 0.0, float("-inf")
        for hop in sorted(self.steps, key=lambda h: h.start_ms):
            start, end = max(hop.start_ms, covered_until), min(hop.end_ms, limit)
            if end > start:
                total += end - start
                covered_until = end
        return total

    @property
    def upload_to_webhook_ms(self) -> float | None:
        if self.webhook_answered_ms is None or not self.steps:
            return None
        return self.webhook_answered_ms - self.steps[0].start_ms

    def render(self) -> str:
        if not self.hops:
            return f"trace {self.image_id}: nothing in the logs names this image"
        origin = self.steps[0].start_ms if self.steps else self.hops[0].start_ms
        span = max(max(hop.end_ms for hop in self.hops) - origin, 1.0)
        total = self.upload_to_webhook_ms
        lines = [
            f"trace {self.image_id}: upload to webhook "
            + (f"{total:.0f} ms" if total is not None else "not delivered")
            + f", sum of steps {self.sum_of_steps_ms:.0f} ms",
            f"{'start':>8} {'took':>8}  {'hop':<34} {'':<{BAR_WIDTH}}",
        ]
        for hop in self.hops:
            offset = hop.start_ms - origin
            first = int(offset / span * BAR_WIDTH)
            width = max(1, round(hop.duration_ms / span * BAR_WIDTH))
            bar = (" " * first + "█" * width)[:BAR_WIDTH].ljust(BAR_WIDTH)
            name = "  " * hop.depth + hop.name
            lines.append(f"{offset:>5.0f} ms {hop.duration_ms:>5.0f} ms  {name:<34} {bar}  {hop.detail}".rstrip())
        lines.append(f"outcome: {self.outcome}")
        lines += [f"missing: {what}" for what in self.missing]
        lines += render_endpoints(self.endpoints, origin)
        return "\n".join(lines)


# The lines each path leaves, as the functions write them (handlers/ and lib/).
ACCEPTED = "image accepted"  # upload: by URL or by body, through the API
SLOT_OPENED = "upload slot opened"  # uploads: a presigned POST handed out
ADMITTED = "upload admitted"  # recognize: the presigned upload passed its checks
REFUSED_AT_ADMISSION = "upload failed its checks"  # recognize: it did not, and ends FAILED
RECOGNIZED = "image recognized"  # recognize: DONE or FAILED
REJECTED = "image rejected by recognition"  # recognize: Rekognition refused the image, FAILED


def build(image_id: str, entries: Iterable[dict[str, Any]]) -> Trace:
    entries = list(entries)
    mine = [e for e in entries if e.get("image_id") == image_id]
    invocations = _invocations(entries)
    requests = {e["requestId"]: e for e in entries if "requestTimeEpoch" in e and "requestId" in e}
    trace = Trace(image_id)
    accepted, slot = _first(mine, ACCEPTED), _first(mine, SLOT_OPENED)
    refused = _first(mine, REFUSED_AT_ADMISSION)
    if slot is not None and accepted is None:
        _direct_upload(trace, slot, _first(mine, ADMITTED) or refused, requests, invocations)
    else:
        _upload(trace, accepted, requests, invocations)
    if refused is not None:
        trace.outcome = f"FAILED, refused at admission ({refused.get('code')}: {refused.get('reason')})"
    else:
        _recognize(trace, _first(mine, RECOGNIZED), _first(mine, REJECTED), invocations)
    # The stage's own webhook: the tries that name no subscribed endpoint.
    _deliver(trace, [e for e in mine if "webhook_id" in e and "attempt" in e and not e.get("endpoint_id")], invocations)
    trace.endpoints = endpoint_trails(mine)
    return trace


# --- the hops of each function ------------------------------------------------------------------
def _upload(trace: Trace, accepted: dict[str, Any] | None, requests: dict, invocations: dict) -> None:
    if accepted is None:
        trace.missing.append(f"the upload (no '{ACCEPTED}' or '{SLOT_OPENED}' line)")
        return
    _api_call(trace, "upload", accepted, requests, invocations)


def _direct_upload(
    trace: Trace, slot: dict[str, Any], arrival: dict[str, Any] | None, requests: dict, invocations: dict
) -> None:
    """POST /uploads hands out a presigned POST; the client sends the file to S3; recognize admits it."""
    api = _api_call(trace, "uploads", slot, requests, invocations)
    if arrival is None:
        trace.missing.append(
            f"the upload's arrival (no '{ADMITTED}' or '{REFUSED_AT_ADMISSION}' line): "
            "the client has not sent the file to S3 yet, or its presigned POST expired unused"
        )
        return
    created = _iso_ms(arrival.get("s3_event_time"))
    if api is not None and created is not None:
        # From the API's answer to S3's event time (to the millisecond): the client sending the file.
        took = max(0.0, created - api.end_ms)
        trace.hops.append(Hop("client POST to S3", api.end_ms, took, detail="the client's own upload"))
    received = _queue_wait(trace, arrival, "the wait for admission")
    verdict = "admitted" if arrival.get("message") == ADMITTED else f"refused: {arrival.get('code')}"
    _invocation(trace, "recognize (admission)", arrival, invocations, after_ms=received, detail=verdict)


def _api_call(trace: Trace, function: str, line: dict[str, Any], requests: dict, invocations: dict) -> Hop | None:
    """The API request, from the gateway's access log, and the function's invocation inside it."""
    request = requests.get(line.get("correlation_id"))
    hop = None
    if request is None:
        trace.missing.append("the API request (no access log line with its request id)")
    else:
        hop = Hop(
            f"API {request['httpMethod']} {request['path']}",
            float(request["requestTimeEpoch"]),
            float(request["responseLatency"]),
            detail=f"-> {request['status']}",
        )
        trace.hops.append(hop)
    invocation = _invocation(trace, function, line, invocations, depth=0 if request is None else 1)
    return hop or invocation


def _queue_wait(trace: Trace, line: dict[str, Any], what: str) -> float | None:
    """S3 -> SNS -> SQS, timed by S3's event time and SQS's timestamps; when the queue handed it out."""
    created = _iso_ms(line.get("s3_event_time"))
    sent, received = line.get("queue_sent_ms"), line.get("queue_first_receive_ms")
    if created is not None and sent and received:
        trace.hops.append(
            Hop(
                "wait S3 -> SNS -> SQS",
                created,
                received - created,
                detail=f"S3 to the queue {sent - created:.0f} ms, in the queue {received - sent:.0f} ms",
            )
        )
    else:
        trace.missing.append(f"{what} (no S3 event time or SQS timestamps)")
    return received


def _recognize(
    trace: Trace, recognized: dict[str, Any] | None, rejected: dict[str, Any] | None, invocations: dict
) -> None:
    if recognized is None:
        trace.missing.append(f"recognition (no '{RECOGNIZED}' line)")
        return
    received = _queue_wait(trace, recognized, "the wait for recognition")
    invocation = _invocation(trace, "recognize", recognized, invocations, after_ms=received)
    trace.outcome = str(recognized.get("status", "unknown"))
    if rejected is not None:
        trace.outcome += f", rejected by recognition ({rejected.get('reason')})"
    # The function times its own calls, in this order, ending as it logs the line.
    end = line_ms(recognized)
    parts = [
        ("Rekognition DetectLabels", recognized.get("recognition_ms")),
        ("DynamoDB writes", recognized.get("store_ms")),
        ("SNS publish, marked published", recognized.get("publish_ms")),
    ]
    if end is None or invocation is None or any(ms is None for _, ms in parts):
        return
    start = end - sum(float(ms) for _, ms in parts)
    for name, ms in parts:
        trace.hops.append(Hop(name, start, float(ms), depth=1))
        start += float(ms)


def _deliver(trace: Trace, tries: list[dict[str, Any]], invocations: dict) -> None:
    if not tries:
        trace.missing.append("the webhook (no delivery line)")
        trace.outcome += "; no webhook yet"
        return
    tries.sort(key=lambda e: line_ms(e) or 0)
    first = tries[0]
    sent, received = first.get("queue_sent_ms"), first.get("queue_first_receive_ms")
    if sent and received:
        trace.hops.append(Hop("wait SNS -> SQS", float(sent), float(received - sent), detail="in the queue"))
    previous_end = received
    for attempt in tries:
        number = attempt.get("attempt")
        invocation = _invocation(trace, f"deliver (try {number})", attempt, invocations, after_ms=previous_end)
        if invocation is not None:
            previous_end = invocation.end_ms
        post_start, post_ms = attempt.get("post_started_ms"), attempt.get("post_ms")
        if post_start and post_ms is not None:
            post = Hop(f"webhook POST try {number}", float(post_start), float(post_ms), depth=1)
            trace.hops.append(post)
            if attempt.get("action") == "delivered":
                trace.webhook_answered_ms = post.end_ms
    last = tries[-1]
    trace.outcome += f"; webhook {last.get('action')} on try {last.get('attempt')}"
    if last.get("reason"):
        trace.outcome += f" ({last['reason']})"


def _invocation(
    trace: Trace,
    function: str,
    line: dict[str, Any],
    invocations: dict,
    depth: int = 0,
    after_ms: float | None = None,
    detail: str = "",
) -> Hop | None:
    timing = invocations.get(line.get("function_request_id"))
    if timing is None:
        trace.missing.append(f"the {function} invocation (no platform lines for its request id)")
        return None
    start, duration = timing
    if after_ms is not None and start > after_ms:
        # The event source mapping: from the queue handing the message out to the invocation.
        trace.hops.append(Hop("poller -> invoke", after_ms, start - after_ms, depth=depth))
    hop = Hop(f"{function} λ", start, duration, depth=depth, detail=detail)
    trace.hops.append(hop)
    return hop


# --- reading the lines --------------------------------------------------------------------------
def _invocations(entries: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """request id -> (start epoch ms, duration ms), from the runtime's platform lines."""
    starts: dict[str, float] = {}
    timed: dict[str, tuple[float, float]] = {}
    for entry in entries:
        record = entry.get("record")
        if not isinstance(record, dict):
            continue
        if entry.get("type") == "platform.start":
            at = _iso_ms(entry.get("time"))
            if at is not None:
                starts[record.get("requestId")] = at
        elif entry.get("type") == "platform.report" and record.get("requestId") in starts:
            duration = float((record.get("metrics") or {}).get("durationMs", 0))
            timed[record["requestId"]] = (starts[record["requestId"]], duration)
    return timed


def _first(entries: list[dict[str, Any]], message: str) -> dict[str, Any] | None:
    return next((e for e in entries if e.get("message") == message), None)


def _iso_ms(value: Any) -> float | None:
    """Epoch ms of an ISO 8601 time with a Z, as S3 events and platform lines write it."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return None
