"""ministack as a child process: a Docker-free emulator to which the real template and zip deploy.

It runs from a virtualenv of its own (local/requirements-ministack.txt): it pins a botocore older
than the stack's. `MINISTACK_BIN` names another executable. It listens on a free loopback port,
and its health endpoint says when it is ready (about half a second, ../shared/FACTS.md).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from lib.deadline import Deadline, poll
from local.errors import StackError
from local.paths import PROJECT_ROOT, STATE_DIR
from local.processes import lifeline

VENV = STATE_DIR / "ministack-venv"
REQUIREMENTS = PROJECT_ROOT / "local" / "requirements-ministack.txt"
HEALTH_PATH = "/_ministack/health"
# Ports tried before giving up, when ministack finds the one it was given already taken.
PORT_ATTEMPTS = 3


def executable() -> Path:
    configured = os.environ.get("MINISTACK_BIN")
    path = Path(configured) if configured else VENV / "bin" / "ministack"
    if not path.exists():
        raise StackError(
            f"EMULATOR=ministack needs {path}: run `make ministack` (a virtualenv with "
            f"{REQUIREMENTS.relative_to(PROJECT_ROOT)}), or set MINISTACK_BIN"
        )
    return path


class MinistackEmulator:
    name = "ministack"
    # ministack's default account, which its ARNs carry.
    account_id = "000000000000"
    # The stack deploys to it once it runs (local/deploy/ministack_deploy.py); nothing starts earlier.
    planned_endpoint: str | None = None

    def __init__(self, log_path: Path | None = None, startup_timeout: float = 30.0):
        self.endpoint = ""
        self.log_path = log_path or STATE_DIR / "ministack.log"
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> str:
        # ministack binds the port itself, so the port can only be looked up first and handed over;
        # another socket may take it in between. ministack then exits saying so, and another port
        # is tried: a few times, since each such race is rare.
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self._launch(_free_port())
            try:
                self._wait_healthy()
                return self.endpoint
            except StackError:
                if attempt == PORT_ATTEMPTS or not self._lost_its_port():
                    raise
                self.stop()
        raise AssertionError("unreachable")

    def _launch(self, port: int) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))},
            "GATEWAY_PORT": str(port),
            # Its default, 0.0.0.0, exposes it to the network and clashed with other listeners here.
            "BIND_HOST": "127.0.0.1",
            "LOG_LEVEL": "INFO",
        }
        env, lifeline_fds = lifeline.child_environment(env)
        self._process = subprocess.Popen(
            # Through the lifeline runner: ministack cannot watch the pipe itself, and must end with the stack.
            [sys.executable, "-m", "local.processes.lifeline", str(executable())],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=lifeline_fds,
            start_new_session=True,
        )
        self.endpoint = f"http://127.0.0.1:{port}"

    def _lost_its_port(self) -> bool:
        """Whether ministack exited because its port was taken (its own check, or the bind's error)."""
        if self._process is None or self._process.poll() is None:
            return False
        try:
            return "already in use" in self.log_path.read_text(errors="replace").lower()
        except OSError:
            return False

    def _wait_healthy(self) -> None:
        if not poll(self._healthy, Deadline(self.startup_timeout), interval=0.05):
            raise StackError(f"ministack did not answer within {self.startup_timeout:.0f} s; see {self.log_path}")

    def _healthy(self) -> bool:
        import requests

        assert self._process is not None
        if self._process.poll() is not None:
            raise StackError(f"ministack exited with code {self._process.returncode}; see {self.log_path}")
        try:
            return requests.get(self.endpoint + HEALTH_PATH, timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> MinistackEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
