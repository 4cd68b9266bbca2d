"""The parent's end of one worker process: spawning it, framed requests and replies on its pipes, killing its group.

The worker itself, the child's end, is local/functions/worker.py.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lib.deadline import Deadline
from local.functions.forking import Zygote
from local.functions.spec import FunctionSpec
from local.functions.worker import FRAME_HEADER

logger = logging.getLogger("local.functions.runtime")

WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")
STOP_GRACE_SECONDS = 5.0


class DeadlineExceeded(Exception):
    """The deadline passed before the worker answered."""


class WorkerGone(Exception):
    """The worker's end of a pipe closed: the process is gone."""


class WorkerProcess:
    """The parent's end of one worker process: its pipes and process group."""

    def __init__(self, process: Any, request_fd: int, reply_fd: int):  # a Popen or a ForkedProcess
        self.process = process
        # The code generation it imported: a worker of an older one is retired after its event.
        self.generation = 0
        self._request_fd = request_fd
        self._reply_fd = reply_fd
        self._closed = False

    @classmethod
    def spawn(
        cls,
        spec: FunctionSpec,
        env: Mapping[str, str],
        cwd: Path,
        function_arn: str,
        log_fd: int | None,
        zygote: Zygote | None = None,
        timeout: float = 30.0,
    ) -> WorkerProcess:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            if zygote is not None:
                process: Any = zygote.fork(
                    env=env,
                    cwd=cwd,
                    handler=spec.handler,
                    function_arn=function_arn,
                    fds=(request_read, reply_write),
                    timeout=timeout,
                )
            else:
                process = cls._popen(spec, env, cwd, function_arn, log_fd, request_read, reply_write)
        except BaseException:
            for fd in (request_read, request_write, reply_read, reply_write):
                os.close(fd)
            raise
        # Only the child may hold these ends, or a dead worker would never read as EOF.
        os.close(request_read)
        os.close(reply_write)
        os.set_blocking(request_write, False)
        os.set_blocking(reply_read, False)
        return cls(process, request_write, reply_read)

    @staticmethod
    def _popen(
        spec: FunctionSpec,
        env: Mapping[str, str],
        cwd: Path,
        function_arn: str,
        log_fd: int | None,
        request_read: int,
        reply_write: int,
    ) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            # -P: the script's own directory (local/) must not land on sys.path and shadow modules.
            "-P",
            str(WORKER_SCRIPT),
            "--handler", spec.handler,
            "--function-arn", function_arn,
            "--request-fd", str(request_read),
            "--reply-fd", str(reply_write),
            "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            pass_fds=(request_read, reply_write),
            # Its own process group, so a timeout kills whatever the handler spawned as well.
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def closed(self) -> bool:
        return self._closed

    def is_alive(self) -> bool:
        return not self._closed and self.process.poll() is None

    def receive(self, deadline: Deadline) -> dict[str, Any]:
        header = self._read_exact(FRAME_HEADER.size, deadline)
        (size,) = FRAME_HEADER.unpack(header)
        return json.loads(self._read_exact(size, deadline))

    def send(self, payload: bytes, deadline: Deadline) -> None:
        view = memoryview(FRAME_HEADER.pack(len(payload)) + payload)
        with selectors.DefaultSelector() as selector:
            selector.register(self._request_fd, selectors.EVENT_WRITE)
            while view:
                self._wait(selector, deadline)
                try:
                    written = os.write(self._request_fd, view)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError) as error:
                    raise WorkerGone() from error
                view = view[written:]

    def _read_exact(self, size: int, deadline: Deadline) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        with selectors.DefaultSelector() as selector:
            selector.register(self._reply_fd, selectors.EVENT_READ)
            while remaining:
                self._wait(selector, deadline)
                try:
                    chunk = os.read(self._reply_fd, min(remaining, 1 << 20))
                except BlockingIOError:
                    continue
                if not chunk:
                    raise WorkerGone()
                chunks.append(chunk)
                remaining -= len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _wait(selector: selectors.BaseSelector, deadline: Deadline) -> None:
        while True:
            if deadline.expired:
                raise DeadlineExceeded()
            if selector.select(deadline.remaining()):
                return

    def terminate(self) -> int | None:
        """SIGKILL the process group (hung handlers get no say) and reap the worker."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # already gone; its group went with it or is being reaped
        try:
            return self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            logger.error("worker %d did not exit after SIGKILL", self.process.pid)
            return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._request_fd)
            os.close(self._reply_fd)


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "unknown"
    if returncode < 0:
        try:
            return f"signal: {signal.Signals(-returncode).name.removeprefix('SIG').lower()}"
        except ValueError:
            return f"signal: {-returncode}"
    return f"exit status {returncode}"
