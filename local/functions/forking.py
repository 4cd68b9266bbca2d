"""The runtime's end of the zygote (`local/functions/zygote.py`): ask for a worker, learn when it exits.

A forked worker is the zygote's child, not the runtime's, so `ForkedProcess` stands in for
`subprocess.Popen`: its exit status comes from the zygote, which reaps it.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from lib.deadline import Deadline

ZYGOTE_SCRIPT = Path(__file__).resolve().with_name("zygote.py")
MAX_MESSAGE = 1 << 16
# The zygote passes fds over an AF_UNIX SOCK_SEQPACKET socket, which macOS lacks: there the runtime
# starts each worker as a fresh interpreter instead.
ZYGOTE_SUPPORTED = sys.platform.startswith("linux")
# What every handler of this project imports before its own code, and no project code.
SHARED_IMPORTS = (
    "boto3",
    "botocore.session",
    "botocore.client",
    "requests",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.utilities.batch",
)
DEFAULT_PRELOAD = SHARED_IMPORTS
# The AWS services the handlers build clients for (lib/adapters/clients.py, powertools' parameters).
SHARED_AWS_SERVICES = ("dynamodb", "rekognition", "s3", "sns", "sqs", "ssm")


class ZygoteError(RuntimeError):
    pass


class Zygote:
    def __init__(self, preload: Sequence[str], env: Mapping[str, str], cwd: Path, log_fd: int | None):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-P",
                    str(ZYGOTE_SCRIPT),
                    "--control-fd",
                    str(theirs.fileno()),
                    "--preload",
                    ",".join(preload),
                    "--aws-services",
                    ",".join(SHARED_AWS_SERVICES if "boto3" in preload else ()),
                ],  # fmt: skip
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                pass_fds=(theirs.fileno(),),
                # Out of the terminal's process group: Ctrl-C is the runtime's; the zygote ends with its socket.
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._socket = ours
        self._ids = itertools.count()
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self._answers: dict[int, dict] = {}
        self._exits: dict[int, int] = {}
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="zygote-reader", daemon=True)
        self._reader.start()

    def fork(
        self, *, env: Mapping[str, str], cwd: Path, handler: str, function_arn: str, fds: Sequence[int], timeout: float
    ) -> ForkedProcess:
        """A new worker with these pipe ends, its environment applied before it imports the handler."""
        request_id = next(self._ids)
        request = {
            "id": request_id,
            "env": dict(env),
            "cwd": str(cwd),
            "handler": handler,
            "function_arn": function_arn,
        }
        try:
            with self._send_lock:
                socket.send_fds(self._socket, [json.dumps(request).encode()], list(fds))
        except OSError as error:
            raise ZygoteError(f"the zygote is gone ({self._describe_exit()})") from error
        answer = self._wait(lambda: self._answers.pop(request_id, None), timeout, "a worker")
        if "error" in answer:
            raise ZygoteError(f"the zygote could not fork: {answer['error']}")
        return ForkedProcess(answer["pid"], self)

    def returncode(self, pid: int) -> int | None:
        with self._changed:
            return self._exits.get(pid)

    def wait_exit(self, pid: int, timeout: float | None) -> int:
        try:
            return self._wait(lambda: self._exits.get(pid), timeout, f"worker {pid} to exit")
        except ZygoteError:
            raise subprocess.TimeoutExpired(f"worker {pid}", timeout or 0) from None

    def stop(self) -> None:
        # Its socket closing is what ends it; workers still running follow their parent out. Shut
        # down first: a close alone leaves the reader thread's recv holding the socket open.
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # it is gone already
        self._reader.join(timeout=5)
        self._socket.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait(self, found, timeout: float | None, what: str):
        deadline = None if timeout is None else Deadline(timeout)
        with self._changed:
            while True:
                value = found()
                if value is not None:
                    return value
                if self._closed:
                    raise ZygoteError(f"the zygote exited ({self._describe_exit()}) while waiting for {what}")
                remaining = None if deadline is None else deadline.remaining()
                if remaining is not None and remaining <= 0:
                    raise ZygoteError(f"no answer from the zygote within {timeout:.0f} s for {what}")
                self._changed.wait(remaining)

    def _read(self) -> None:
        while True:
            try:
                data = self._socket.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            with self._changed:
                if not data:
                    self._closed = True
                    self._changed.notify_all()
                    return
                message = json.loads(data)
                if "exited" in message:
                    self._exits[message["exited"]] = message["returncode"]
                elif "id" in message:
                    self._answers[message["id"]] = message
                self._changed.notify_all()

    def _describe_exit(self) -> str:
        code = self.process.poll()
        return "still running" if code is None else f"exit code {code}"


class ForkedProcess:
    """What the runtime needs of `subprocess.Popen` for a worker the zygote forked."""

    def __init__(self, pid: int, zygote: Zygote):
        self.pid = pid
        self._zygote = zygote

    @property
    def returncode(self) -> int | None:
        return self._zygote.returncode(self.pid)

    def poll(self) -> int | None:
        code = self._zygote.returncode(self.pid)
        if code is None and self._zygote.process.poll() is not None and not _running(self.pid):
            return -9  # the zygote died first, so nobody reported this worker's exit: count it killed
        return code

    def wait(self, timeout: float | None = None) -> int:
        try:
            return self._zygote.wait_exit(self.pid, timeout)
        except subprocess.TimeoutExpired:
            code = self.poll()
            if code is None:
                raise
            return code


def _running(pid: int) -> bool:
    """True while the process runs; a zombie, which nobody may be left to reap, has stopped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")
