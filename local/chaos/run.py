"""One chaos run: start the faulty receiver and the stack, push the load under faults, drain, audit."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lib.domain import webhooks
from local.chaos.audit import Figures, audit
from local.chaos.endpoints import subscribe
from local.chaos.killer import WorkerKiller
from local.chaos.load import LoadDriver
from local.chaos.scenario import SOURCE_QUEUES, WEBHOOK_TIMEOUT_SECONDS, ChaosSettings, chaos_stack
from local.functions.pollers import SqsPoller
from local.sidecars.inbox import WebhookInbox
from local.sidecars.webhook_faults import WebhookFaults
from local.stack import LocalSystem
from local.waiting import WaitTimedOut, wait_until

logger = logging.getLogger("local.chaos")

# Log lines in which the functions say they absorbed a repeated delivery.
ABSORBED = {
    "recognize": '"message":"duplicate delivery ignored"',
    "deliver": '"reason":"already delivered"',
}


@dataclass
class Report:
    settings: ChaosSettings
    figures: Figures
    refused_uploads: list[str]
    webhook_faults: dict[str, int]
    worker_kills: int
    duplicate_notifications: int
    absorbed: dict[str, int]
    upload_seconds: float
    total_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.figures.clean and not self.refused_uploads and self.worker_kills >= self.settings.worker_kills

    def lines(self) -> list[str]:
        f = self.figures
        faults = " ".join(f"{kind}={count}" for kind, count in self.webhook_faults.items())
        return [
            f"chaos: {self.settings.describe()}",
            f"chaos: injected webhook faults {faults}; worker kills mid-batch={self.worker_kills}; "
            f"duplicate notifications={self.duplicate_notifications}",
            f"chaos: redeliveries absorbed: recognize={self.absorbed['recognize']} "
            f"deliver={self.absorbed['deliver']}; uploads refused={len(self.refused_uploads)}; "
            f"uploads dlq={f.uploads_dlq}",
            f"chaos: uploads took {self.upload_seconds:.1f} s, the run {self.total_seconds:.1f} s; "
            f"orphaned_objects={f.orphaned_objects} stray_label_items={f.stray_label_items} "
            f"unstable_webhook_ids={f.unstable_webhook_ids}",
            *(f.endpoints.lines() if f.endpoints else []),
            *(f"chaos: {note}" for note in self.notes),
            f.line(),
        ]


def run(settings: ChaosSettings, progress: Callable[[str], None] = logger.info) -> Report:
    began = time.perf_counter()
    secret = webhooks.generate_secret()
    # The receiver holds a "timeout" request past the sender's timeout, then drops it.
    faults = WebhookFaults(settings.webhook_fail_rate, seed=settings.seed, hold_seconds=WEBHOOK_TIMEOUT_SECONDS + 0.5)
    receiver = WebhookInbox(secret, faults=faults)
    receiver.start()
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        log_path = Path(scratch) / "functions.log"
        try:
            with chaos_stack(settings, receiver.url, secret, log_path) as stack:
                progress(f"stack ready in {stack.started_in:.1f} s: {settings.describe()}")
                report = _under_faults(stack, settings, receiver, faults, log_path, began, progress)
        finally:
            receiver.stop()
    return report


def _under_faults(
    stack: LocalSystem,
    settings: ChaosSettings,
    receiver: WebhookInbox,
    faults: WebhookFaults,
    log_path: Path,
    began: float,
    progress: Callable[[str], None],
) -> Report:
    assert stack.runtime is not None
    pollers = _extra_pollers(stack, settings.extra_pollers)
    subscribed = subscribe(stack)
    # Spread the kills over the run: about as many batches between two kills as there are kills.
    batches_between = max(1, settings.images // 10 // (settings.worker_kills + 1))
    killer = WorkerKiller(stack.runtime, "recognize", settings.worker_kills, batches_between)
    killer.start()
    try:
        load = LoadDriver(stack, settings)
        upload_started = time.perf_counter()
        load.push()
        upload_seconds = time.perf_counter() - upload_started
        progress(f"{len(load.accepted)} images accepted in {upload_seconds:.1f} s; waiting for the queues to drain")
        if load.accepted:  # with nothing to recognize there is no batch to kill: the report says so
            _wait_for_kills(killer, settings.drain_timeout)
        wait_drained(stack, settings.drain_timeout)
    finally:
        killer.stop()
        for poller in pollers:
            poller.stop()
    progress(f"drained after {time.perf_counter() - began:.1f} s; auditing")
    figures = audit(stack, load.accepted, receiver.deliveries(), subscribed, log_path)
    return Report(
        settings=settings,
        figures=figures,
        refused_uploads=load.refused,
        webhook_faults=faults.injected(),
        worker_kills=killer.kills,
        duplicate_notifications=load.duplicates_sent,
        absorbed=_absorbed(log_path),
        upload_seconds=upload_seconds,
        total_seconds=time.perf_counter() - began,
    )


def _wait_for_kills(killer: WorkerKiller, timeout: float) -> None:
    """Until the kills are done, or the timeout: then the report shows fewer kills, and fails."""
    try:
        wait_until(lambda: killer.finished, timeout, "the recognition worker to be killed mid-batch")
    except WaitTimedOut as error:
        logger.warning("chaos: %s", error)


def _extra_pollers(stack: LocalSystem, count: int) -> list[SqsPoller]:
    """More pollers on the same queues, invoking the same functions, as Lambda scales its pollers."""
    assert stack.runtime is not None
    pollers = []
    for existing in stack.pollers:
        for _ in range(count):
            poller = SqsPoller(
                stack.session().client("sqs"),
                existing.mapping,
                stack.runtime.invoke,
                region=existing.region,
                wait_seconds=existing.wait_seconds,
            )
            poller.start()
            pollers.append(poller)
    return pollers


def wait_drained(stack: LocalSystem, timeout: float) -> None:
    """Until the source queues hold nothing, visible or in flight, twice in a row a second apart."""
    sqs = stack.session().client("sqs")

    def empty() -> bool:
        for logical_id in SOURCE_QUEUES:
            attributes = sqs.get_queue_attributes(
                QueueUrl=stack.physical(logical_id),
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            if any(int(value) for value in attributes.values()):
                return False
        return True

    checks: list[float] = []

    def settled() -> bool:
        if not empty():
            checks.clear()
            return False
        checks.append(time.monotonic())
        return checks[-1] - checks[0] >= 1.0

    wait_until(settled, timeout, "the uploads, integration and endpoint queues to drain", interval=0.25)


def _absorbed(log_path: Path) -> dict[str, int]:
    counts = dict.fromkeys(ABSORBED, 0)
    if not log_path.exists():
        return counts
    with log_path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            for function, marker in ABSORBED.items():
                if marker in line and f'"function_name":"{function}"' in line:
                    counts[function] += 1
    return counts
