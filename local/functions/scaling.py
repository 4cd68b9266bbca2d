"""Poller scale-out: more pollers on a queue as its backlog grows, up to the function's concurrency.

Lambda's SQS event source starts with a few pollers, adds more while messages wait, and stops at
the mapping's MaximumConcurrency. This does the same on one machine: it starts one poller, looks
at the queue's backlog every `check_seconds`, starts one more poller per look while the backlog
exceeds what the running pollers take in one receive, and stops the extra ones once the queue has
been empty for a while. The runtime's pool bounds the invocations themselves; this bounds the
receives, so that no message waits, received and invisible, for a worker that is busy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from local.functions.pollers import QueueMapping, SqsPoller

logger = logging.getLogger("local.functions.scaling")

CHECK_SECONDS = 0.5
IDLE_CHECKS_BEFORE_SCALING_IN = 10


class ScalingPoller:
    """One event source mapping: up to `max_pollers` SqsPollers feeding one function."""

    def __init__(
        self,
        sqs_client: Any,
        mapping: QueueMapping,
        invoke: Callable[[str, dict], Any],
        *,
        max_pollers: int,
        region: str = "us-east-1",
        wait_seconds: int = 2,
        check_seconds: float = CHECK_SECONDS,
        make_client: Callable[[], Any] | None = None,
    ):
        if max_pollers < 1:
            raise ValueError("max_pollers must be at least 1")
        self.mapping = mapping
        self.region = region
        self.wait_seconds = wait_seconds
        self.max_pollers = max_pollers
        self.check_seconds = check_seconds
        self._sqs = sqs_client
        self._invoke = invoke
        # botocore clients are thread-safe, but each poller blocks its own connection in a long poll.
        self._make_client = make_client or (lambda: sqs_client)
        self._pollers: list[SqsPoller] = []
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name=f"sqs-scaling-{mapping.function_name}", daemon=True)
        self.peak_pollers = 0

    @property
    def pollers(self) -> int:
        return sum(1 for poller in self._pollers if poller.running)

    def start(self) -> None:
        self._add()
        self._monitor.start()

    def request_stop(self) -> None:
        self._stopping.set()
        for poller in self._pollers:
            poller.request_stop()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        if self._monitor.is_alive():
            self._monitor.join(timeout)
        for poller in self._pollers:
            poller.stop(timeout)

    # --- scaling ---------------------------------------------------------------------------------------
    def _add(self) -> None:
        poller = SqsPoller(
            self._make_client(), self.mapping, self._invoke, region=self.region, wait_seconds=self.wait_seconds
        )
        poller.start()
        self._pollers.append(poller)
        self.peak_pollers = max(self.peak_pollers, len(self._pollers))

    def _backlog(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.mapping.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def _watch(self) -> None:
        idle_checks = 0
        while not self._stopping.wait(self.check_seconds):
            try:
                backlog = self._backlog()
            except Exception as error:  # the emulator may be restarting; look again next time
                logger.debug("scaling %s: %s", self.mapping.function_name, error)
                continue
            running = len(self._pollers)
            if backlog > running * self.mapping.batch_size and running < self.max_pollers:
                self._add()
                logger.info("sqs -> %s: backlog %d, %d pollers", self.mapping.function_name, backlog, running + 1)
                idle_checks = 0
            elif backlog == 0 and running > 1:
                idle_checks += 1
                if idle_checks >= IDLE_CHECKS_BEFORE_SCALING_IN:
                    self._pollers.pop().request_stop()
                    idle_checks = 0
            else:
                idle_checks = 0
