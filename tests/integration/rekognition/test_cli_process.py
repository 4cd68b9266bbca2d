"""The command line as the local stack runs it: a process that announces its URL at once, answers
requests that arrive before its models are warm, reports when they are, and stops on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import requests

from local.http_serving import listening_socket
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


@contextlib.contextmanager
def _cli(*arguments: str, pass_fds: tuple[int, ...] = ()) -> Iterator[subprocess.Popen]:
    """The command line running with `arguments`; killed at the end if a test left it running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local.rekognition.cli", *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=pass_fds,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_the_cli_listens_at_once_serves_early_requests_and_stops_on_sigterm():
    with _cli("--port", "0") as process:
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


def test_the_cli_serves_an_inherited_listening_socket_on_its_port():
    # The stack chooses the port and holds it (local/sidecars/rekognition_service.py); the process
    # serves the socket it is handed rather than binding the port again.
    listening = listening_socket("127.0.0.1")
    port = listening.getsockname()[1]
    fd = listening.fileno()
    # As a quota proxy in front of nothing: it needs no models, and /health answers at once.
    with _cli("--fd", str(fd), "--upstream", "http://127.0.0.1:9", pass_fds=(fd,)) as process:
        listening.close()
        first = _lines(process.stdout).get(timeout=60)
        assert first == f"rekognition: listening on http://127.0.0.1:{port}"
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).ok
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_the_cli_refuses_a_descriptor_that_is_not_a_listening_socket(tmp_path):
    with (tmp_path / "not-a-socket").open("w") as file:
        fd = file.fileno()
        completed = subprocess.run(
            [sys.executable, "-m", "local.rekognition.cli", "--fd", str(fd), "--upstream", "http://x"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            pass_fds=(fd,),
        )
    assert completed.returncode == 1
    assert f"cannot listen on inherited socket {fd}" in completed.stderr
