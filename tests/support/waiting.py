"""Tests wait the way the local tools do: on a condition, with a deadline."""

from local.waiting import WaitTimedOut, wait_until

__all__ = ["WaitTimedOut", "wait_until"]
