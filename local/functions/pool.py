"""Pools of warm worker processes, one per function: starting workers, reusing them, and retiring them.

A pool never runs more worker processes than its function's concurrency, starting ones included.
The runtime (local/functions/runtime.py) runs events on the workers these pools hand out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lib.deadline import Deadline
from local.functions.forking import DEFAULT_PRELOAD, ZYGOTE_SUPPORTED, Zygote, ZygoteError
from local.functions.spec import FunctionInitError, FunctionSpec, InvocationError
from local.functions.worker_process import DeadlineExceeded, WorkerGone, WorkerProcess, describe_exit

logger = logging.getLogger("local.functions.runtime")


@dataclass
class Slot:
    """One function's pool: up to `spec.concurrency` warm workers, each running one event at a time."""

    spec: FunctionSpec
    function_arn: str
    env: dict[str, str]
    # Guards the pool's lists and figures; never held while an event runs or a worker starts.
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: list[WorkerProcess] = field(default_factory=list)
    busy: list[WorkerProcess] = field(default_factory=list)
    capacity: threading.Semaphore = field(init=False)
    # Signaled whenever a worker turns idle or is reaped, for an event waiting to get one.
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

    def workers(self) -> list[WorkerProcess]:
        return self.busy + self.idle


class WorkerPools:
    """The pools of a runtime, one per function, and the worker processes in them."""

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
        self._slots: dict[str, Slot] = {}
        for spec in functions:
            if spec.name in self._slots:
                raise ValueError(f"duplicate function name {spec.name!r}")
            if spec.timeout <= 0:
                raise ValueError(f"function {spec.name!r}: timeout must be positive")
            if spec.concurrency < 1:
                raise ValueError(f"function {spec.name!r}: concurrency must be at least 1")
            arn = f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}"
            self._slots[spec.name] = Slot(spec, arn, self._environment(spec, base))
        self._log_fd: int | None = None
        self._started = False
        self._stopped = False

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

        Busy workers finish their event on the code they imported; nothing is canceled or run
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

    # --- internals ---------------------------------------------------------------------------------
    def _slot(self, function_name: str) -> Slot:
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

    def _spawn(self, slot: Slot) -> tuple[WorkerProcess, float]:
        env = dict(slot.env)
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"
        spawned_at = time.monotonic()
        with slot.lock:
            generation = slot.generation
        try:
            worker = WorkerProcess.spawn(
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

    def _await_ready(self, slot: Slot, worker: WorkerProcess, spawned_at: float) -> None:
        name = slot.spec.name
        try:
            # The start-up budget counts from the spawn, not from now.
            hello = worker.receive(Deadline(self.init_timeout - (time.monotonic() - spawned_at)))
        except DeadlineExceeded:
            self._retire(slot, worker)
            raise FunctionInitError(
                name, "Runtime.InitTimeout", f"handler import took longer than {self.init_timeout:.0f} s"
            ) from None
        except WorkerGone:
            returncode = self._retire(slot, worker)
            raise FunctionInitError(
                name,
                "Runtime.ExitError",
                f"worker exited during start-up ({describe_exit(returncode)}); see its log output",
            ) from None
        if not hello.get("ready"):
            self._retire(slot, worker)
            raise FunctionInitError(name, hello["error_type"], hello["error_message"])
        slot.cold_start_ms = (time.monotonic() - spawned_at) * 1000
        logger.debug("function %s ready in %.0f ms", name, slot.cold_start_ms)

    def _cold_start(self, slot: Slot) -> WorkerProcess:
        try:
            worker, spawned_at = self._spawn(slot)
            self._await_ready(slot, worker, spawned_at)
        except FunctionInitError as error:
            raise InvocationError(error.error_type, error.detail, function_name=slot.spec.name) from error
        return worker

    def _release(self, slot: Slot, worker: WorkerProcess) -> None:
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
    def _forget(slot: Slot, worker: WorkerProcess) -> None:
        with slot.lock:
            if worker in slot.busy:
                slot.busy.remove(worker)

    def _retire(self, slot: Slot, worker: WorkerProcess) -> int | None:
        if worker.closed:
            return worker.process.returncode  # retired already: it was counted out then
        returncode = worker.terminate()
        worker.close()
        self._unreserve(slot)
        return returncode

    @staticmethod
    def _unreserve(slot: Slot) -> None:
        """A worker process is gone (reaped, or never started): the pool has room again."""
        with slot.lock:
            slot.live -= 1
            slot.changed.notify()
