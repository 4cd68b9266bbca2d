"""SQS event source mappings: long-poll a queue and hand batches to a function, as Lambda does.

Semantics follow Lambda's SQS event source mapping with ReportBatchItemFailures: messages the
function reports as failed (or the whole batch, if it raises or times out) are left on the queue,
so they come back after their visibility timeout and the queue's redrive policy eventually moves
them to the dead-letter queue. Nothing here changes message visibility: a function that set its own
backoff with ChangeMessageVisibility keeps it.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lib.deadline import Deadline

logger = logging.getLogger("local.functions.pollers")

MAX_RECEIVE_BATCH = 10  # SQS's own ceiling for one ReceiveMessage
FIRST_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 5.0
SHORT_POLL_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class QueueMapping:
    function_name: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    maximum_batching_window: float = 0.0
    report_batch_item_failures: bool = True


# --- the event Lambda sends -------------------------------------------------------------------------
def sqs_event(messages: Sequence[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """Translate ReceiveMessage output into the event Lambda hands an SQS-triggered function."""
    return {"Records": [_record(message, queue_arn, region) for message in messages]}


def _record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _base64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [_base64(item) for item in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def _base64(value: bytes | str) -> str:
    # boto3 hands binary attributes back as bytes; the Lambda event carries them base64-encoded.
    if isinstance(value, str):
        return value
    return base64.b64encode(value).decode("ascii")


def _latest_copy_of_each(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # A window longer than the visibility timeout can receive a message twice; only the newest
    # receipt handle can still delete it.
    latest = {message["MessageId"]: message for message in messages}
    return list(latest.values())


# --- deciding what to delete ------------------------------------------------------------------------
def messages_to_delete(
    messages: Sequence[dict[str, Any]], result: Any, *, report_batch_item_failures: bool
) -> list[dict[str, Any]]:
    """The messages a successful invocation lets go of, per Lambda's partial batch response rules."""
    if not report_batch_item_failures or not isinstance(result, dict):
        return list(messages)
    failures = result.get("batchItemFailures")
    if not failures:
        return list(messages)
    batch_ids = {message["MessageId"] for message in messages}
    failed_ids: set[str] = set()
    if not isinstance(failures, list):
        return []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            # Lambda's rule: a malformed or unknown identifier fails the whole batch.
            return []
        failed_ids.add(identifier)
    return [message for message in messages if message["MessageId"] not in failed_ids]


# --- the poller -------------------------------------------------------------------------------------
class SqsPoller:
    """One thread that feeds one queue to one function."""

    def __init__(
        self,
        sqs_client: Any,
        mapping: QueueMapping,
        invoke: Callable[[str, dict], Any],
        *,
        region: str = "us-east-1",
        wait_seconds: int = 2,
        on_error: Callable[[Exception], None] | None = None,
    ):
        if not 1 <= mapping.batch_size <= MAX_RECEIVE_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_RECEIVE_BATCH}")
        self.mapping = mapping
        self.region = region
        self.wait_seconds = wait_seconds
        self._sqs = sqs_client
        self._invoke = invoke
        self._on_error = on_error
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.failed_batches = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("poller already started")
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{self.mapping.function_name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to finish without waiting, so several pollers can wind down together."""
        self._stopping.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to finish; returns after the current receive (at most ~wait_seconds) or timeout."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "poller for %s still busy after %.1f s (a long invocation?)",
                    self.mapping.function_name,
                    timeout,
                )

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while not self._stopping.is_set():
            try:
                messages = self._receive_batch()
                if messages and not self._stopping.is_set():
                    self._process(messages)
                backoff = FIRST_BACKOFF_SECONDS
            except Exception as error:  # the loop must outlive emulator restarts
                logger.warning(
                    "poller for %s: %s: %s; retrying in %.1f s",
                    self.mapping.function_name,
                    type(error).__name__,
                    error,
                    backoff,
                )
                if self._on_error is not None:
                    self._on_error(error)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _receive_batch(self) -> list[dict[str, Any]]:
        messages = self._receive(self.wait_seconds, self.mapping.batch_size)
        window = self.mapping.maximum_batching_window
        if not messages or window <= 0:
            return messages
        # Keep gathering until the batch is full or the window closes, as the mapping does.
        window_closes = Deadline(window)
        while len(messages) < self.mapping.batch_size and not self._stopping.is_set():
            remaining = window_closes.remaining()
            if remaining <= 0:
                break
            wanted = self.mapping.batch_size - len(messages)
            if remaining >= 1:
                # Long polls return as soon as something arrives; whole seconds only, so round down.
                messages.extend(self._receive(int(remaining), wanted))
            else:
                more = self._receive(0, wanted)
                messages.extend(more)
                if not more:
                    self._stopping.wait(min(SHORT_POLL_INTERVAL_SECONDS, remaining))
        return _latest_copy_of_each(messages)

    def _receive(self, wait_seconds: int, max_messages: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=min(max_messages, MAX_RECEIVE_BATCH),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _process(self, messages: list[dict[str, Any]]) -> None:
        name = self.mapping.function_name
        started = time.monotonic()
        event = sqs_event(messages, self.mapping.queue_arn, self.region)
        self.batches += 1
        try:
            result = self._invoke(name, event)
        except Exception as error:  # any failed invocation fails the batch, like Lambda
            self.failed_batches += 1
            logger.info(
                "sqs -> %s: batch of %d failed (%s: %s); all left for retry [%.0f ms]",
                name,
                len(messages),
                type(error).__name__,
                getattr(error, "error_message", error),
                (time.monotonic() - started) * 1000,
            )
            return
        done = messages_to_delete(messages, result, report_batch_item_failures=self.mapping.report_batch_item_failures)
        self._delete(done)
        failed = len(messages) - len(done)
        if failed:
            self.failed_batches += 1
        logger.info(
            "sqs -> %s: batch of %d, %d failed [%.0f ms]",
            name,
            len(messages),
            failed,
            (time.monotonic() - started) * 1000,
        )

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        response = self._sqs.delete_message_batch(
            QueueUrl=self.mapping.queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)
            ],
        )
        for failure in response.get("Failed", []):
            logger.warning(
                "sqs -> %s: could not delete a processed message: %s",
                self.mapping.function_name,
                failure.get("Message", failure.get("Code")),
            )
