"""A monotonic deadline, and a bounded poll on it: wait on a condition until a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """A moment `seconds` from now on the monotonic clock, which wall-clock changes cannot move."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at


def poll(condition: Callable[[], T], deadline: Deadline, interval: float) -> T | None:
    """The condition's first truthy result, or None once the deadline has passed.

    The condition is asked at least once, and once more at the deadline itself: a wait never ends
    without looking a last time.
    """
    while True:
        result = condition()
        if result:
            return result
        if deadline.expired:
            return None
        time.sleep(min(interval, deadline.remaining()))
