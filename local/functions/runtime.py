"""A local Lambda runtime: pools of warm worker processes, with Lambda's concurrency, timeout and crash semantics.

Each worker is an OS process (`local/functions/worker.py`) that imports its handler once and keeps
it loaded, like a warm Lambda instance, and runs one event at a time. A function has up to its
concurrency of them. A handler that overruns its timeout has its whole process group killed, and
the next invocation starts a fresh worker: a cold start.

This module runs events; the pools of workers are local/functions/pool.py, one worker process is
local/functions/worker_process.py, and what callers hand in and get back is local/functions/spec.py.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import time
import uuid
from typing import Any, Self

from lib.deadline import Deadline
from local.functions.memory import MemoryWatch
from local.functions.pool import Slot, WorkerPools
from local.functions.spec import FunctionInitError, FunctionSpec, InvocationError, InvocationTimeout
from local.functions.worker_process import (
    STOP_GRACE_SECONDS,
    DeadlineExceeded,
    WorkerGone,
    WorkerProcess,
    describe_exit,
)

# What callers import from here: the runtime, and what they hand it and get back from it.
__all__ = ["FunctionInitError", "FunctionSpec", "InvocationError", "InvocationTimeout", "LambdaRuntime"]


class LambdaRuntime(WorkerPools):
    """Runs handlers from the working tree in pools of warm worker processes, one pool per function.

    A function runs at most `FunctionSpec.concurrency` events at once, each in a worker of its own,
    as Lambda runs at most that many instances of a function; a further event waits for a worker.
    Workers start on demand (a cold start) and stay warm. The pool's interface: `start` warms one
    worker per function, `prewarm` more; `replace_workers` retires the idle ones so the next events
    start fresh; `peak_concurrency` is the most events that ran at once.
    """

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

    def _take_worker(self, slot: Slot) -> WorkerProcess:
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

    def _invoke_on(self, slot: Slot, worker: WorkerProcess, payload_event: str) -> Any:
        name = slot.spec.name
        request_id = str(uuid.uuid4())
        deadline = Deadline(slot.spec.timeout)
        deadline_epoch_ms = int((time.time() + slot.spec.timeout) * 1000)
        payload = (
            f'{{"request_id": "{request_id}", "deadline_epoch_ms": {deadline_epoch_ms}, "event": {payload_event}}}'
        ).encode()
        try:
            with MemoryWatch(worker.pid, slot.spec.memory_mb, name) as memory:
                worker.send(payload, deadline)
                reply = worker.receive(deadline)
        except DeadlineExceeded:
            self._forget(slot, worker)
            self._retire(slot, worker)
            raise InvocationTimeout(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {slot.spec.timeout:.2f} seconds",
                function_name=name,
            ) from None
        except WorkerGone:
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
                f"RequestId: {request_id} Error: Runtime exited with error: {describe_exit(returncode)}",
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
