"""Bounded polling: wait on a condition with a deadline and a clear failure message, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimedOut(AssertionError):
    """The condition never held. An AssertionError, so a test that waits reports it as a failure."""


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """Returns the condition's first truthy result; raises WaitTimedOut naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimedOut(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)
