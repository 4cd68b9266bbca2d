"""Bounded polling: wait on a condition with a deadline and a clear failure message, never a fixed sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lib.deadline import Deadline, poll

T = TypeVar("T")


class WaitTimedOut(AssertionError):
    """The condition never held. An AssertionError, so a test that waits reports it as a failure."""


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """Returns the condition's first truthy result; raises WaitTimedOut naming `what` at the deadline."""
    result = poll(condition, Deadline(timeout), interval)
    if not result:
        raise WaitTimedOut(f"timed out after {timeout:.1f} s waiting for {what}")
    return result
