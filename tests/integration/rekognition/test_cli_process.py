"""The command line as the local stack runs it: a process that announces its URL at once, answers
requests that arrive before its models are warm, reports when they are, and stops on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.integration.rekognition.support import fixture_bytes, rekognition_client

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _lines(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_the_cli_listens_at_once_serves_early_requests_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "local.rekognition.cli", "--port", "0"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _lines(process.stdout)
        first = lines.get(timeout=60)
        assert first.startswith("rekognition: listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1]

        # Sent before warm-up is over: the request waits for the models instead of failing.
        labels = rekognition_client(url).detect_labels(Image={"Bytes": fixture_bytes("chelsea.jpg")})["Labels"]
        assert "Cat" in [label["Name"] for label in labels[:3]]

        ready = lines.get(timeout=120)
        assert ready.startswith("rekognition: models ready in ") and ready.endswith(" s")
        float(ready.split(" in ")[1].split()[0])

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_the_cli_refuses_a_fail_rate_above_one():
    completed = subprocess.run(
        [sys.executable, "-m", "local.rekognition.cli", "--fail-rate", "2"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "--fail-rate" in completed.stderr
