"""Fixtures the unit tests share."""

from __future__ import annotations

import json

import pytest

from lib import observability


@pytest.fixture
def flushed(capsys):
    """The EMF documents the process's metrics print when flushed, as each handler does."""
    observability.metrics.clear_metrics()
    capsys.readouterr()

    def flush() -> list[dict]:
        observability.metrics.flush_metrics()
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]

    yield flush
    observability.metrics.clear_metrics()
