"""Named webhook receivers of the local inbox: `{webhook_inbox}/r/{name}`, any number of them.

Register one as a subscribed endpoint's URL. Each records every request it gets (headers and the
raw body, unverified: the endpoint's secret is its owner's, not the inbox's) and lists them at
`GET {webhook_inbox}/r/{name}/deliveries`. The URL's query string sets how it answers:

    ?fail=3          500 three times, then 204
    ?fail_percent=30 500 to 30 of every 100 requests, spread evenly (never two in a row below 50)
    ?status=410      always that status
    ?gone=5          204 four times, then 410 Gone from the fifth request on (`gone=1`: from the first)
    ?retry_after=2   429 with `Retry-After: 2` once, then 204
    ?delay_ms=1500   answers after that long (bounded by MAX_DELAY_MS)

They combine: `?fail=1&delay_ms=200`. Counting is per receiver name. A request whose sender had
already hung up when the answer was due (it timed out) is recorded with `sender_gone`.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Any

PREFIX = "/r/"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_DELAY_MS = 60_000


@dataclass
class Received:
    name: str
    status: int
    received_at: float
    headers: dict[str, str]
    body: str  # exactly as sent, so a test can verify its signature
    answered: bool = False  # False while a `delay_ms` holds the answer back
    # The sender had closed its connection before the answer was written (it timed out), so the
    # answer never reached it: a retry of this `webhook-id` is then at least once, not a duplicate.
    sender_gone: bool = False


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    delay_seconds: float
    received: Received | None = None  # the record to mark answered once the answer is sent


class NamedReceivers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: dict[str, list[Received]] = {}
        self._requests: Counter[str] = Counter()

    @staticmethod
    def name_of(path: str) -> tuple[str, str] | None:
        """(name, rest) for a path under /r/, e.g. ("alice", "/deliveries"); None for other paths."""
        if not path.startswith(PREFIX):
            return None
        name, _, rest = path[len(PREFIX) :].partition("/")
        return (name, "/" + rest if rest else "") if NAME.fullmatch(name) else None

    def receive(self, name: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        behavior = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        with self._lock:
            self._requests[name] += 1
            seen = self._requests[name]
        answer = _answer(behavior, seen)
        received = Received(name, answer.status, time.time(), dict(headers), body.decode("utf-8", "replace"))
        with self._lock:
            self._received.setdefault(name, []).append(received)
        return replace(answer, received=received)

    def answered(self, answer: Answer, sender_gone: bool = False) -> None:
        with self._lock:
            if answer.received is not None:
                answer.received.answered = True
                answer.received.sender_gone = sender_gone

    def deliveries(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._received.get(name, [])]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._requests.clear()


def _integer(behavior: dict[str, str], name: str) -> int:
    value = behavior.get(name, "")
    return int(value) if value.isdigit() else 0


def _in_failing_share(seen: int, percent: int) -> bool:
    """Whether request number `seen` is one of the `percent` in every 100 that fail.

    Deterministic rather than random, so a test knows the count: the n-th request fails when
    n x percent / 100 crosses a whole number, which spreads the failures evenly.
    """
    percent = min(percent, 100)
    return seen * percent // 100 > (seen - 1) * percent // 100


def _answer(behavior: dict[str, str], seen: int) -> Answer:
    delay = min(_integer(behavior, "delay_ms"), MAX_DELAY_MS) / 1000
    status = _integer(behavior, "status")
    if 100 <= status <= 599:
        return Answer(status, {}, delay)
    gone = _integer(behavior, "gone")
    if gone and seen >= gone:
        return Answer(410, {}, delay)
    if seen <= _integer(behavior, "fail") or _in_failing_share(seen, _integer(behavior, "fail_percent")):
        return Answer(500, {}, delay)
    retry_after = _integer(behavior, "retry_after")
    if retry_after and seen == 1:
        return Answer(429, {"retry-after": str(retry_after)}, delay)
    return Answer(204, {}, delay)
