"""Faults a webhook receiver throws at its sender, at a given rate, from a seeded random generator.

The four kinds are the ways real receivers fail: an error (500), back-pressure (429 with a
Retry-After), no answer within the sender's timeout, and a connection reset. The sender must retry
every one of them. The same seed gives the same sequence of decisions.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

SERVER_ERROR = "500"
TOO_MANY_REQUESTS = "429"
TIMEOUT = "timeout"
RESET = "reset"
KINDS = (SERVER_ERROR, TOO_MANY_REQUESTS, TIMEOUT, RESET)


class WebhookFaults:
    def __init__(
        self,
        rate: float,
        seed: int = 0,
        *,
        hold_seconds: float = 1.5,
        retry_after_seconds: int = 1,
        kinds: tuple[str, ...] = KINDS,
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"the fault rate must be between 0 and 1, got {rate}")
        unknown = set(kinds) - set(KINDS)
        if not kinds or unknown:
            raise ValueError(f"fault kinds must be some of {', '.join(KINDS)}; got {', '.join(kinds) or 'none'}")
        self.rate = rate
        self.kinds = tuple(kinds)
        # A TIMEOUT holds the request this long and then drops it: longer than the sender waits.
        self.hold_seconds = hold_seconds
        self.retry_after_seconds = retry_after_seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._injected: Counter[str] = Counter()

    def next(self) -> str | None:
        """The fault for the next request, or None to answer it normally."""
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self._injected[kind] += 1
            return kind

    def injected(self) -> dict[str, int]:
        with self._lock:
            return {kind: self._injected[kind] for kind in KINDS}
