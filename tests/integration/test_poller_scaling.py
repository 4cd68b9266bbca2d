"""Poller scale-out: more pollers while a backlog waits, never more than the function's concurrency."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from local.functions.pollers import QueueMapping
from local.functions.scaling import ScalingPoller
from tests.integration.test_pollers import endpoint, sqs  # noqa: F401 (fixtures)
from tests.support.waiting import wait_until


class SlowFunction:
    """Takes 0.1 s a batch and records how many batches ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.records = 0
        self._lock = threading.Lock()

    def __call__(self, name: str, event: dict) -> dict:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.1)
        with self._lock:
            self.running -= 1
            self.records += len(event["Records"])
        return {"batchItemFailures": []}


# serial: three batches at once needs three threads running within 0.1 s of each other, which a
# machine busy with other tests does not always give them.
@pytest.mark.serial
def test_pollers_scale_out_with_the_backlog_up_to_the_limit_and_back_in(sqs):  # noqa: F811
    url = sqs.create_queue(QueueName=f"scaling-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for start in range(0, 200, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)])
    function = SlowFunction()
    mapping = QueueMapping("consumer", url, f"arn:aws:sqs:us-east-1:123456789012:{url.rsplit('/', 1)[1]}")
    poller = ScalingPoller(sqs, mapping, function, max_pollers=3, wait_seconds=1, check_seconds=0.1)
    poller.start()
    try:
        wait_until(lambda: function.records >= 200, timeout=60, what="the backlog to be consumed")
        # THEN it scaled out to the limit, and never past it
        assert poller.peak_pollers == 3
        assert function.most_at_once == 3
        # AND with the queue empty it scales back in, to one poller
        wait_until(lambda: poller.pollers == 1, timeout=10, what="the extra pollers to stop")
    finally:
        poller.stop()
