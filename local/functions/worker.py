"""One warm Lambda instance: imports a handler once, then serves invocations over a private pipe.

Started by `local.functions.runtime.LambdaRuntime`, never by hand. The parent passes two inherited pipe fds:
requests arrive on one, replies leave on the other, each as a length-prefixed JSON frame. Nothing
else may be written to the reply fd, so fd 1 is pointed at stderr before any user code runs:
prints and log lines from the handler end up in the log, never in the protocol.
"""

from __future__ import annotations

import argparse
import decimal
import importlib
import importlib.util
import json
import logging
import os
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

FRAME_HEADER = struct.Struct(">I")
PARENT_CHECK_INTERVAL_SECONDS = 0.5


# --- framing ----------------------------------------------------------------------------------------
def encode_frame(message: dict[str, Any]) -> bytes:
    payload = json.dumps(message, default=_lambda_json_default).encode("utf-8")
    return FRAME_HEADER.pack(len(payload)) + payload


def _lambda_json_default(value: Any) -> Any:
    # The real Python runtime serializes Decimal (what DynamoDB hands back) as a JSON number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> dict[str, Any] | None:
    """Block until one frame arrives; None when the parent closed the pipe."""
    header = _read_exact(fd, FRAME_HEADER.size)
    if header is None:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    payload = _read_exact(fd, size)
    if payload is None:
        return None
    return json.loads(payload)


def write_frame(fd: int, message: dict[str, Any] | bytes) -> None:
    view = memoryview(message if isinstance(message, bytes) else encode_frame(message))
    while view:
        written = os.write(fd, view)
        view = view[written:]


# --- the context object handed to the handler ----------------------------------------------------
class LambdaContext:
    """Mirrors the attributes of the context object of the AWS Python runtime."""

    def __init__(self, aws_request_id: str, invoked_function_arn: str, deadline_epoch_ms: int):
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        # The real runtime reads this from the environment too, so it is a string there as well.
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_epoch_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


# --- loading the handler ----------------------------------------------------------------------------
class HandlerLoadError(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def load_handler(handler: str, project_root: Path) -> Callable[[Any, Any], Any]:
    """Resolve serverless.yml's `path/to/module.function` the way the Lambda runtime does."""
    module_path, _, attribute = handler.rpartition(".")
    if not module_path or not attribute:
        raise HandlerLoadError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': expected 'module.function'")
    module = _import_module(module_path, project_root)
    function = getattr(module, attribute, None)
    if not callable(function):
        raise HandlerLoadError("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_path}'")
    return function


def _import_module(module_path: str, project_root: Path) -> ModuleType:
    dotted_name = module_path.strip("/").replace("/", ".")
    source = project_root / (module_path.strip("/") + ".py")
    try:
        if source.is_file() and not _inside_regular_packages(source, project_root):
            # Plain directories (like tests/) would be namespace packages that any installed
            # distribution of the same name shadows; loading by path makes the working tree win.
            return _import_from_file(dotted_name, source)
        return importlib.import_module(dotted_name)
    except SyntaxError as error:
        raise HandlerLoadError("Runtime.UserCodeSyntaxError", "".join(traceback.format_exception(error))) from error
    except Exception as error:
        raise HandlerLoadError(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_path}':\n" + "".join(traceback.format_exception(error)),
        ) from error


def _inside_regular_packages(source: Path, project_root: Path) -> bool:
    directory = source.resolve().parent
    root = project_root.resolve()
    if not directory.is_relative_to(root):
        return False
    while directory != root:
        if not (directory / "__init__.py").is_file():
            return False
        directory = directory.parent
    return True


def _import_from_file(dotted_name: str, source: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(dotted_name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[dotted_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(dotted_name, None)
        raise
    return module


# --- process setup ----------------------------------------------------------------------------------
def _protect_protocol_channel(request_fd: int, reply_fd: int) -> None:
    # Subprocesses the handler starts must not hold the pipes: a surviving grandchild would keep
    # the reply pipe open and hide this worker's death from the parent.
    os.set_inheritable(request_fd, False)
    os.set_inheritable(reply_fd, False)
    os.dup2(2, 1)


def _exit_when_orphaned(parent_pid: int) -> None:
    # The worker runs in its own session (so the runtime can kill its whole process group),
    # which also means a Ctrl-C in the terminal never reaches it: follow the parent instead.
    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_INTERVAL_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _configure_root_logger() -> None:
    # Like the managed runtime: the root logger has a handler, so `logging.warning(...)` shows up.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(name)s\t%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


# --- the invocation loop ----------------------------------------------------------------------------
def invoke_once(handler: Callable[[Any, Any], Any], request: dict[str, Any], function_arn: str) -> bytes:
    """Run the handler on one event; the reply comes back already framed."""
    context = LambdaContext(request["request_id"], function_arn, request["deadline_epoch_ms"])
    _platform_event("platform.start", {"requestId": context.aws_request_id, "version": "$LATEST"})
    started = time.perf_counter()
    try:
        result = handler(request["event"], context)
    except Exception as error:  # whatever the handler raises is the invocation's error, as in Lambda
        stack = traceback.format_exception(error)
        sys.stderr.write(
            f"[ERROR] {type(error).__name__}: {error}\tRequestId: {context.aws_request_id}\n" + "".join(stack)
        )
        _platform_report(context.aws_request_id, started, "error")
        return _error_frame(type(error).__name__, str(error), stack)
    _platform_report(context.aws_request_id, started, "success")
    try:
        return encode_frame({"ok": True, "result": result})
    except (TypeError, ValueError) as error:
        return _error_frame("Runtime.MarshalError", f"Unable to marshal response: {error}", [])


def _platform_event(event_type: str, record: dict[str, Any]) -> None:
    """Lambda's platform log line in its JSON log format: what `python -m local trace` times invocations by."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    sys.stderr.write(json.dumps({"time": stamp, "type": event_type, "record": record}) + "\n")


def _platform_report(request_id: str, started: float, status: str) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    _platform_event(
        "platform.report", {"requestId": request_id, "status": status, "metrics": {"durationMs": duration_ms}}
    )


def _error_frame(error_type: str, message: str, stack: list[str]) -> bytes:
    return encode_frame({"ok": False, "error_type": error_type, "error_message": message, "stack_trace": stack})


def serve(args: argparse.Namespace) -> int:
    project_root = Path.cwd().resolve()
    _protect_protocol_channel(args.request_fd, args.reply_fd)
    _exit_when_orphaned(args.parent_pid)
    _configure_root_logger()
    if str(project_root) not in sys.path[:1]:
        sys.path.insert(0, str(project_root))

    started = time.perf_counter()
    try:
        handler = load_handler(args.handler, project_root)
    except HandlerLoadError as error:
        sys.stderr.write(f"[ERROR] {error.error_type}: {error}\n")
        write_frame(
            args.reply_fd,
            {"ready": False, "error_type": error.error_type, "error_message": str(error)},
        )
        return 1
    init_ms = (time.perf_counter() - started) * 1000
    write_frame(args.reply_fd, {"ready": True, "init_ms": init_ms})

    while True:
        request = read_frame(args.request_fd)
        if request is None:
            return 0
        write_frame(args.reply_fd, invoke_once(handler, request, args.function_arn))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--function-arn", required=True)
    parser.add_argument("--request-fd", type=int, required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(serve(parse_args(None)))
