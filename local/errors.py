"""Errors that the parts of the local stack share."""

from __future__ import annotations


class StackError(RuntimeError):
    """The stack could not start; the message says what to do."""
