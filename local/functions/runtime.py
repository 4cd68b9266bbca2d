"""A local Lambda runtime: pools of warm worker processes, with Lambda's concurrency, timeout and crash semantics.

Each worker is an OS process (`local/functions/worker.py`) that imports its handler once and keeps
it loaded, like a warm Lambda instance, and runs one event at a time. A function has up to its
concurrency of them. A handler that overruns its timeout has its whole process group killed, and
the next invocation starts a fresh worker: a cold start.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from local.functions.forking import DEFAULT_PRELOAD, ZYGOTE_SUPPORTED, Zygote, ZygoteError
from local.functions.memory import MemoryWatch
from local.functions.worker import FRAME_HEADER

logger = logging.getLogger("local.functions.runtime")

WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str  # serverless.yml form: "handlers/upload.handler"
    timeout: float  # seconds
    memory_mb: int = 1024
    environment: Mapping[str, str] = field(default_factory=dict)
    # Events run at once at most, each in a worker process of its own (Lambda's concurrency).
    concurrency: int = 1


class InvocationError(Exception):
    """The invocation failed: the handler raised, the worker died, or the result was not JSON."""

    def __init__(
        self,
        error_type: str,
        error_message: str,
        *,
        function_name: str = "",
        stack_trace: Iterable[str] = (),
    ):
        super().__init__(f"{function_name or '?'}: {error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.function_name = function_name
        self.stack_trace = list(stack_trace)


class InvocationTimeout(InvocationError):
    """The handler ran past its timeout; its worker was killed."""


class FunctionInitError(RuntimeError):
    """A worker could not import its handler at start-up."""

    def __init__(self, function_name: str, error_type: str, detail: str):
        super().__init__(f"function '{function_name}' failed to initialise: {error_type}: {detail}")
        self.function_name = function_name
        self.error_type = error_type
        self.detail = detail


class _DeadlineExceeded(Exception):
    pass


class _WorkerGone(Exception):
    pass


# --- one worker process -----------------------------------------------------------------------------
class _Worker:
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
    ) -> _Worker:
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

    def receive(self, deadline: float) -> dict[str, Any]:
        header = self._read_exact(FRAME_HEADER.size, deadline)
        (size,) = FRAME_HEADER.unpack(header)
        return json.loads(self._read_exact(size, deadline))

    def send(self, payload: bytes, deadline: float) -> None:
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
                    raise _WorkerGone() from error
                view = view[written:]

    def _read_exact(self, size: int, deadline: float) -> bytes:
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
                    raise _WorkerGone()
                chunks.append(chunk)
                remaining -= len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _wait(selector: selectors.BaseSelector, deadline: float) -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _DeadlineExceeded()
            if selector.select(remaining):
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


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "unknown"
    if returncode < 0:
        try:
            return f"signal: {signal.Signals(-returncode).name.removeprefix('SIG').lower()}"
        except ValueError:
            return f"signal: {-returncode}"
    return f"exit status {returncode}"


# --- per-function state -----------------------------------------------------------------------------
@dataclass
class _Slot:
    """One function's pool: up to `spec.concurrency` warm workers, each running one event at a time."""

    spec: FunctionSpec
    function_arn: str
    env: dict[str, str]
    # Guards the pool's lists and figures; never held while an event runs or a worker starts.
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: list[_Worker] = field(default_factory=list)
    busy: list[_Worker] = field(default_factory=list)
    capacity: threading.Semaphore = field(init=False)
    # Signalled whenever a worker turns idle or is reaped, for an event waiting to get one.
    changed: threading.Condition = field(init=False)
    in_flight: int = 0
    peak: int = 0
    # Worker processes reserved and not yet reaped, starting ones included: never above the concurrency.
    live: int = 0
    peak_live: int = 0
    # Bumped by a reload: workers that imported an older generation's code are not reused.
    generation: int = 0
    cold_start_ms: float | None = None
    counters: dict[str, int] = field(
        default_factory=lambda: {"invocations": 0, "errors": 0, "timeouts": 0, "cold_starts": 0}
    )

    def __post_init__(self) -> None:
        self.capacity = threading.Semaphore(self.spec.concurrency)
        self.changed = threading.Condition(self.lock)

    def reserve(self) -> bool:
        """Count one more worker process if the pool has room for it. Call with the lock held."""
        if self.live >= self.spec.concurrency:
            return False
        self.live += 1
        self.peak_live = max(self.peak_live, self.live)
        return True

    def workers(self) -> list[_Worker]:
        return self.busy + self.idle


class LambdaRuntime:
    """Runs handlers from the working tree in pools of warm worker processes, one pool per function.

    A function runs at most `FunctionSpec.concurrency` events at once, each in a worker of its own,
    as Lambda runs at most that many instances of a function; a further event waits for a worker.
    Workers start on demand (a cold start) and stay warm. The pool's interface: `start` warms one
    worker per function, `prewarm` more; `replace_workers` retires the idle ones so the next events
    start fresh; `peak_concurrency` is the most events that ran at once.
    """

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        *,
        project_root: Path,
        base_env: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        log_path: Path | None = None,
        init_timeout: float = 30.0,
        preload: Sequence[str] | None = DEFAULT_PRELOAD,
    ):
        """`preload`: what a zygote imports once, to fork each worker from it; None starts each
        worker as a fresh interpreter instead."""
        self.project_root = Path(project_root).resolve()
        self.region = region
        self.account_id = account_id
        self.log_path = log_path
        self.init_timeout = init_timeout
        base = dict(os.environ if base_env is None else base_env)
        self._base_env = base
        self.preload = tuple(preload) if preload is not None and ZYGOTE_SUPPORTED else None
        self._zygote: Zygote | None = None
        self._zygote_lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        for spec in functions:
            if spec.name in self._slots:
                raise ValueError(f"duplicate function name {spec.name!r}")
            if spec.timeout <= 0:
                raise ValueError(f"function {spec.name!r}: timeout must be positive")
            if spec.concurrency < 1:
                raise ValueError(f"function {spec.name!r}: concurrency must be at least 1")
            arn = f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}"
            self._slots[spec.name] = _Slot(spec, arn, self._environment(spec, base))
        self._log_fd: int | None = None
        self._started = False
        self._stopped = False

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start one worker per function in parallel and wait until each has imported its handler."""
        if self._started:
            raise RuntimeError("runtime already started")
        self._started = True
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # A bare fd rather than a file object: it lives exactly as long as the runtime.
            self._log_fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        atexit.register(self.stop)
        failures: list[FunctionInitError] = []
        try:
            self._live_zygote()
            spawned = {}
            for name, slot in self._slots.items():
                with slot.lock:
                    slot.reserve()
                spawned[name] = self._spawn(slot)
            for name, (worker, spawned_at) in spawned.items():
                slot = self._slots[name]
                try:
                    self._await_ready(slot, worker, spawned_at)
                except FunctionInitError as error:
                    failures.append(error)
                else:
                    self._release(slot, worker)
        except BaseException:
            self.stop()
            raise
        if failures:
            self.stop()
            first = failures[0]
            if len(failures) == 1:
                raise first
            others = "\n\n".join(str(failure) for failure in failures[1:])
            raise FunctionInitError(first.function_name, first.error_type, f"{first.detail}\n\n{others}")

    def stop(self) -> None:
        """Kill every worker, hung or not, and reap it. Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        for slot in self._slots.values():
            with slot.lock:
                idle, busy, slot.idle = slot.idle, list(slot.busy), []
            for worker in idle:
                worker.terminate()
                worker.close()
            # In-flight invocations now see their worker gone, and close it themselves.
            for worker in busy:
                worker.terminate()
        with self._zygote_lock:
            if self._zygote is not None:
                self._zygote.stop()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- invoking ----------------------------------------------------------------------------------
    def invoke(self, function_name: str, event: dict) -> Any:
        """Run one event in one of the function's warm workers and return its JSON result."""
        slot = self._slot(function_name)
        payload_event = json.dumps(event)
        # At the concurrency limit, an event waits for a worker to finish.
        while not slot.capacity.acquire(timeout=0.2):
            self._check_running(function_name)
        try:
            self._check_running(function_name)
            with slot.lock:
                slot.counters["invocations"] += 1
                slot.in_flight += 1
                slot.peak = max(slot.peak, slot.in_flight)
            try:
                return self._invoke_on(slot, self._take_worker(slot), payload_event)
            except InvocationError as error:
                with slot.lock:
                    slot.counters["errors"] += 1
                    if isinstance(error, InvocationTimeout):
                        slot.counters["timeouts"] += 1
                raise
            finally:
                with slot.lock:
                    slot.in_flight -= 1
        finally:
            slot.capacity.release()

    def _check_running(self, function_name: str) -> None:
        if self._stopped or not self._started:
            raise InvocationError(
                "Runtime.Unavailable", "the local runtime is not running", function_name=function_name
            )

    def _take_worker(self, slot: _Slot) -> _Worker:
        """An idle worker of the current code, or a fresh one if the pool has room; else wait for one.

        The event holds a unit of `capacity`, so at most concurrency - 1 other events hold workers:
        a pool that is full without an idle worker has one starting (a prewarm) or being reaped,
        and either signals `changed`.
        """
        while True:
            with slot.lock:
                while True:
                    self._check_running(slot.spec.name)
                    if slot.idle:
                        worker = slot.idle.pop()
                        # Busy from this moment, so that a kill aimed at a running event finds it.
                        slot.busy.append(worker)
                        break
                    if slot.reserve():
                        worker = None
                        break
                    slot.changed.wait(timeout=0.2)
            if worker is None:
                worker = self._cold_start(slot)
                with slot.lock:
                    slot.busy.append(worker)
                return worker
            if worker.is_alive() and worker.generation == slot.generation:
                return worker
            self._forget(slot, worker)
            self._retire(slot, worker)

    def _invoke_on(self, slot: _Slot, worker: _Worker, payload_event: str) -> Any:
        name = slot.spec.name
        request_id = str(uuid.uuid4())
        deadline = time.monotonic() + slot.spec.timeout
        deadline_epoch_ms = int((time.time() + slot.spec.timeout) * 1000)
        payload = (
            f'{{"request_id": "{request_id}", "deadline_epoch_ms": {deadline_epoch_ms}, "event": {payload_event}}}'
        ).encode()
        try:
            with MemoryWatch(worker.pid, slot.spec.memory_mb, name) as memory:
                worker.send(payload, deadline)
                reply = worker.receive(deadline)
        except _DeadlineExceeded:
            self._forget(slot, worker)
            self._retire(slot, worker)
            raise InvocationTimeout(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {slot.spec.timeout:.2f} seconds",
                function_name=name,
            ) from None
        except _WorkerGone:
            self._forget(slot, worker)
            returncode = self._retire(slot, worker)
            if memory.exceeded_mb is not None:
                raise InvocationError(
                    "Runtime.OutOfMemory",
                    f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
                    f"(Max Memory Used: {memory.exceeded_mb:.0f} MB of {slot.spec.memory_mb} MB)",
                    function_name=name,
                ) from None
            raise InvocationError(
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited with error: {_describe_exit(returncode)}",
                function_name=name,
            ) from None
        except BaseException:
            self._forget(slot, worker)
            self._retire(slot, worker)
            raise
        self._release(slot, worker)
        if not reply["ok"]:
            raise InvocationError(
                reply["error_type"],
                reply["error_message"],
                function_name=name,
                stack_trace=reply.get("stack_trace", ()),
            )
        return reply["result"]

    # --- the pool ----------------------------------------------------------------------------------
    def prewarm(self, function_name: str, count: int) -> None:
        """Start idle workers until the function has `count` (at most its concurrency)."""
        slot = self._slot(function_name)
        with slot.lock:
            wanted = min(count, slot.spec.concurrency) - slot.live
        for _ in range(max(0, wanted)):
            with slot.lock:
                if not slot.reserve():
                    return  # events started workers of their own meanwhile
            self._release(slot, self._cold_start(slot))

    def replace_workers(self, function_name: str) -> int:
        """Retire the idle workers now and the busy ones after their event. Returns how many were retired now.

        Busy workers finish their event on the code they imported; nothing is cancelled or run
        again. The next events start fresh workers, which import the handler again.
        """
        slot = self._slot(function_name)
        with slot.lock:
            slot.generation += 1
            idle, slot.idle = slot.idle, []
        for worker in idle:
            self._retire(slot, worker)
        return len(idle)

    def reload(self, function_name: str) -> int:
        """Replace the function's workers with fresh ones that import the handler again; returns how many.

        As many workers are warmed as the function had, as far as the concurrency allows while
        the busy ones finish: the pool never runs more processes than its concurrency. A handler
        that no longer imports raises `InvocationError` here, and its events fail as on Lambda.
        """
        slot = self._slot(function_name)
        with slot.lock:
            warm = max(1, slot.live)
        self.replace_workers(function_name)
        self.prewarm(function_name, warm)
        with slot.lock:
            return sum(1 for worker in slot.idle if worker.generation == slot.generation)

    @property
    def zygote_pid(self) -> int | None:
        """The pid of the process the workers fork from, or None if each starts as a fresh interpreter."""
        zygote = self._zygote
        return zygote.process.pid if zygote is not None else None

    def spec(self, function_name: str) -> FunctionSpec:
        return self._slot(function_name).spec

    def concurrency(self, function_name: str) -> int:
        return self._slot(function_name).spec.concurrency

    def peak_concurrency(self, function_name: str) -> int:
        """The most events of the function that ran at once since start."""
        return self._slot(function_name).peak

    def peak_workers(self, function_name: str) -> int:
        """The most worker processes of the function that existed at once, starting ones included."""
        return self._slot(function_name).peak_live

    def worker_pids(self, function_name: str) -> list[int]:
        slot = self._slot(function_name)
        with slot.lock:
            return [worker.pid for worker in slot.workers() if worker.is_alive()]

    # --- fault injection and metrics ----------------------------------------------------------------
    def kill_worker(self, function_name: str) -> int | None:
        """SIGKILL one of the function's workers (a busy one if any) as if it crashed; returns its pid."""
        slot = self._slot(function_name)
        with slot.lock:
            candidates = slot.workers()
        if not candidates:
            return None
        worker = candidates[0]
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # it exited on its own meanwhile
        worker.process.wait(timeout=STOP_GRACE_SECONDS)
        return worker.pid

    def worker_pid(self, function_name: str) -> int | None:
        """The pid of one live worker of the function (a busy one if any), or None."""
        pids = self.worker_pids(function_name)
        return pids[0] if pids else None

    def is_busy(self, function_name: str) -> bool:
        """True while a worker of the function runs an event: a kill now lands mid-batch."""
        slot = self._slot(function_name)
        with slot.lock:
            return bool(slot.busy)

    def stats(self, function_name: str) -> dict[str, int]:
        """Counters since start; `errors` includes timeouts and crashes, as Lambda's Errors metric does."""
        slot = self._slot(function_name)
        with slot.lock:
            return dict(slot.counters)

    def cold_start_ms(self, function_name: str) -> float | None:
        """Wall time of the last worker start: process spawn plus handler import."""
        return self._slot(function_name).cold_start_ms

    @property
    def function_names(self) -> list[str]:
        return list(self._slots)

    # --- internals ---------------------------------------------------------------------------------
    def _slot(self, function_name: str) -> _Slot:
        try:
            return self._slots[function_name]
        except KeyError:
            raise KeyError(f"unknown function {function_name!r}") from None

    def _environment(self, spec: FunctionSpec, base: Mapping[str, str]) -> dict[str, str]:
        env = dict(base)
        env.update(spec.environment)
        timeout = spec.timeout
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout) if timeout == int(timeout) else timeout),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "LAMBDA_TASK_ROOT": str(self.project_root),
                "_HANDLER": spec.handler,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _spawn(self, slot: _Slot) -> tuple[_Worker, float]:
        env = dict(slot.env)
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"
        spawned_at = time.monotonic()
        with slot.lock:
            generation = slot.generation
        try:
            worker = _Worker.spawn(
                slot.spec,
                env,
                self.project_root,
                slot.function_arn,
                self._log_fd,
                self._live_zygote(),
                self.init_timeout,
            )
        except ZygoteError as error:
            self._unreserve(slot)
            raise FunctionInitError(slot.spec.name, "Runtime.Unknown", str(error)) from error
        except BaseException:
            self._unreserve(slot)
            raise
        worker.generation = generation
        with slot.lock:
            slot.counters["cold_starts"] += 1
        return worker, spawned_at

    def _live_zygote(self) -> Zygote | None:
        """The zygote to fork from, started again if it died (its workers exit with it)."""
        if self.preload is None:
            return None
        with self._zygote_lock:
            if self._zygote is not None and self._zygote.process.poll() is not None:
                logger.warning(
                    "the workers' zygote exited (code %s); starting another", self._zygote.process.returncode
                )
                self._zygote.stop()
                self._zygote = None
            if self._zygote is None and not self._stopped:
                self._zygote = Zygote(self.preload, self._base_env, self.project_root, self._log_fd)
            return self._zygote

    def _await_ready(self, slot: _Slot, worker: _Worker, spawned_at: float) -> None:
        name = slot.spec.name
        try:
            hello = worker.receive(spawned_at + self.init_timeout)
        except _DeadlineExceeded:
            self._retire(slot, worker)
            raise FunctionInitError(
                name, "Runtime.InitTimeout", f"handler import took longer than {self.init_timeout:.0f} s"
            ) from None
        except _WorkerGone:
            returncode = self._retire(slot, worker)
            raise FunctionInitError(
                name,
                "Runtime.ExitError",
                f"worker exited during start-up ({_describe_exit(returncode)}); see its log output",
            ) from None
        if not hello.get("ready"):
            self._retire(slot, worker)
            raise FunctionInitError(name, hello["error_type"], hello["error_message"])
        slot.cold_start_ms = (time.monotonic() - spawned_at) * 1000
        logger.debug("function %s ready in %.0f ms", name, slot.cold_start_ms)

    def _cold_start(self, slot: _Slot) -> _Worker:
        try:
            worker, spawned_at = self._spawn(slot)
            self._await_ready(slot, worker, spawned_at)
        except FunctionInitError as error:
            raise InvocationError(error.error_type, error.detail, function_name=slot.spec.name) from error
        return worker

    def _release(self, slot: _Slot, worker: _Worker) -> None:
        """Back to the idle list after an event, unless the runtime stopped meanwhile."""
        with slot.lock:
            if worker in slot.busy:
                slot.busy.remove(worker)
            keep = not self._stopped and worker.is_alive() and worker.generation == slot.generation
            if keep:
                slot.idle.append(worker)
                slot.changed.notify()
        if not keep:
            self._retire(slot, worker)

    @staticmethod
    def _forget(slot: _Slot, worker: _Worker) -> None:
        with slot.lock:
            if worker in slot.busy:
                slot.busy.remove(worker)

    def _retire(self, slot: _Slot, worker: _Worker) -> int | None:
        if worker.closed:
            return worker.process.returncode  # retired already: it was counted out then
        returncode = worker.terminate()
        worker.close()
        self._unreserve(slot)
        return returncode

    @staticmethod
    def _unreserve(slot: _Slot) -> None:
        """A worker process is gone (reaped, or never started): the pool has room again."""
        with slot.lock:
            slot.live -= 1
            slot.changed.notify()
