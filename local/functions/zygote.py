"""The workers' parent: imports the shared dependencies once, then forks each worker from itself.

Started by `local.functions.runtime.LambdaRuntime`, never by hand. A fresh interpreter pays 0.3 s and
more for boto3, botocore and Powertools before a handler can run; a worker forked from here has
them already, and only imports its handler. The zygote never imports project code (handlers/ or
lib/), so a fork always imports the handler as it is on disk: hot reload stays a fresh import.

It stays single-threaded, because forking a threaded process can leave a lock held forever in the
child. One Unix socket (SOCK_SEQPACKET: one message each) carries the runtime's requests, each JSON
with the worker's two pipe fds attached, the answers (the worker's pid), and a message for every
worker that exits, with its status, since only the zygote, its parent, can reap it.
"""

from __future__ import annotations

import argparse
import array
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path
from types import ModuleType

MAX_FDS = 2
MAX_MESSAGE = 1 << 20  # a request carries a function's environment: a few KB


def _load_worker_module() -> ModuleType:
    # By path, not by name: with -P the script's folder is not on sys.path, and must not be.
    path = Path(__file__).resolve().with_name("worker.py")
    spec = importlib.util.spec_from_file_location("_local_lambda_worker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def preload(modules: list[str]) -> dict[str, float]:
    """Import what every handler imports; a module that is missing is simply not shared."""
    took = {}
    for name in modules:
        started = time.perf_counter()
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        took[name] = (time.perf_counter() - started) * 1000
    return took


def warm_aws_clients(services: list[str]) -> None:
    """Builds one throwaway client per service on boto3's default session, which every fork inherits.

    Building a client parses its service's model and endpoint rules (20-40 ms a service); the
    session's loader keeps them, so a worker's own clients are built in a few ms. The clients here
    are unsigned, so the session never resolves credentials of its own: each worker still finds its
    function's role credentials in the environment it is forked with.
    """
    if not services:
        return
    try:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
    except ImportError:
        return
    boto3.setup_default_session()
    for service in services:
        boto3.DEFAULT_SESSION.client(service, region_name="us-east-1", config=Config(signature_version=UNSIGNED))


def _fork_worker(worker: ModuleType, control: socket.socket, wakeup: tuple[int, int], request: dict, fds: list[int]):
    pid = os.fork()
    if pid:
        return pid
    # --- the worker, from here on ---
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        control.close()
        for fd in wakeup:
            os.close(fd)
        # Its own process group, so that a timeout kills whatever the handler spawned as well.
        os.setsid()
        os.chdir(request["cwd"])
        # Its function's environment (role credentials included) before any of its code runs.
        os.environ.clear()
        os.environ.update(request["env"])
        args = worker.parse_args(
            [
                "--handler", request["handler"],
                "--function-arn", request["function_arn"],
                "--request-fd", str(fds[0]),
                "--reply-fd", str(fds[1]),
                "--parent-pid", str(os.getppid()),
            ]
        )  # fmt: skip
        code = worker.serve(args)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # the worker's own failure, reported on its stderr (the log) as it dies
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _send(control: socket.socket, message: dict) -> None:
    control.send(json.dumps(message).encode())


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"exited": pid, "returncode": os.waitstatus_to_exitcode(status)})


def serve(control: socket.socket) -> int:
    worker = _load_worker_module()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    # A handler is needed for the wakeup fd to see SIGCHLD; the reaping happens in the loop.
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # A Ctrl-C in the terminal is the runtime's to handle: the zygote ends when its socket closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _send(control, {"ready": True, "pid": os.getpid()})
    while True:
        readable, _, _ = select.select([control, wake_read], [], [])
        if wake_read in readable:
            while True:
                try:
                    if not os.read(wake_read, 512):
                        break
                except BlockingIOError:
                    break
            _reap(control)
        if control not in readable:
            continue
        fds_buffer = array.array("i")
        data, ancillary, _, _ = control.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(MAX_FDS * fds_buffer.itemsize))
        if not data:
            return 0  # the runtime is gone; orphaned workers follow it by themselves
        received: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % fds_buffer.itemsize
                fds_buffer.frombytes(payload[:usable])
                received.extend(fds_buffer)
        request = json.loads(data)
        try:
            pid = _fork_worker(worker, control, (wake_read, wake_write), request, received)
        except OSError as error:
            _send(control, {"id": request["id"], "error": f"{type(error).__name__}: {error}"})
        else:
            _send(control, {"id": request["id"], "pid": pid})
        finally:
            for fd in received:
                os.close(fd)
        _reap(control)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--preload", default="", help="comma-separated modules to import before forking")
    parser.add_argument("--aws-services", default="", help="comma-separated services whose clients to warm")
    args = parser.parse_args(argv)
    preload([name for name in args.preload.split(",") if name])
    warm_aws_clients([name for name in args.aws_services.split(",") if name])
    control = socket.socket(fileno=args.control_fd)
    os.set_inheritable(args.control_fd, False)
    return serve(control)


if __name__ == "__main__":
    sys.exit(main())
