"""How the stack waits for ministack to answer, with a stand-in executable in place of ministack."""

from __future__ import annotations

import sys
import textwrap

import pytest

from local.aws.ministack import PORT_ATTEMPTS, MinistackEmulator
from local.errors import StackError

HEALTHY = """
    import http.server, os

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/_ministack/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer((os.environ["BIND_HOST"], int(os.environ["GATEWAY_PORT"])), Health).serve_forever()
"""


def stand_in(tmp_path, monkeypatch, body: str) -> None:
    script = tmp_path / "ministack"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    monkeypatch.setenv("MINISTACK_BIN", str(script))


def test_start_returns_once_the_health_endpoint_answers(tmp_path, monkeypatch):
    stand_in(tmp_path, monkeypatch, HEALTHY)
    emulator = MinistackEmulator(log_path=tmp_path / "ministack.log")
    try:
        assert emulator.start().startswith("http://127.0.0.1:")
    finally:
        emulator.stop()


def test_an_emulator_that_exits_is_reported_with_its_exit_code(tmp_path, monkeypatch):
    stand_in(tmp_path, monkeypatch, "raise SystemExit(3)\n")
    emulator = MinistackEmulator(log_path=tmp_path / "ministack.log")
    try:
        with pytest.raises(StackError, match="ministack exited with code 3"):
            emulator.start()
    finally:
        emulator.stop()


def test_an_emulator_that_never_answers_fails_at_the_deadline(tmp_path, monkeypatch):
    stand_in(tmp_path, monkeypatch, "import time\ntime.sleep(60)\n")
    emulator = MinistackEmulator(log_path=tmp_path / "ministack.log", startup_timeout=0.3)
    try:
        with pytest.raises(StackError, match="did not answer within 0 s"):
            emulator.start()
    finally:
        emulator.stop()


def port_taken_first(times: int) -> str:
    """A stand-in that, the first `times` starts, exits as ministack does when its port is taken."""
    return (
        f"""
    import os, pathlib, sys

    starts = pathlib.Path(os.environ["STARTS_FILE"])
    count = int(starts.read_text()) if starts.exists() else 0
    starts.write_text(str(count + 1))
    if count < {times}:
        print(f"ERROR: 127.0.0.1:{{os.environ['GATEWAY_PORT']}} is already in use. Is MiniStack already running?")
        sys.exit(1)
    """
        + HEALTHY
    )


def test_a_port_taken_before_ministack_binds_it_is_replaced_by_another(tmp_path, monkeypatch):
    stand_in(tmp_path, monkeypatch, port_taken_first(1))
    monkeypatch.setenv("STARTS_FILE", str(tmp_path / "starts"))
    emulator = MinistackEmulator(log_path=tmp_path / "ministack.log")
    try:
        assert emulator.start().startswith("http://127.0.0.1:")
        assert (tmp_path / "starts").read_text() == "2"
    finally:
        emulator.stop()


def test_ports_taken_every_time_fail_after_the_last_attempt(tmp_path, monkeypatch):
    stand_in(tmp_path, monkeypatch, port_taken_first(99))
    monkeypatch.setenv("STARTS_FILE", str(tmp_path / "starts"))
    emulator = MinistackEmulator(log_path=tmp_path / "ministack.log")
    try:
        with pytest.raises(StackError, match="ministack exited with code 1"):
            emulator.start()
        assert (tmp_path / "starts").read_text() == str(PORT_ATTEMPTS)
    finally:
        emulator.stop()
