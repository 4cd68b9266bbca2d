"""`python -m local up` started as `make local &` starts it: a process of its own, ready once it has
written its endpoints file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support.waiting import wait_until

START_TIMEOUT_SECONDS = 120


def start(cwd: Path, env: Mapping[str, str], endpoints_file: Path, log: Path) -> subprocess.Popen:
    """Starts the stack in its own session, away from the test's signals, and waits until it is ready.

    Raises AssertionError, with the stack's output, if it exits instead.
    """
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "up"], cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: endpoints_file.exists() or process.poll() is not None, START_TIMEOUT_SECONDS, "the stack")
        assert process.poll() is None, log.read_text()
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    """As Ctrl-C would; for a test's clean-up whatever state the stack is in."""
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
