"""Moving a dead-letter queue's messages back to their source queue, on AWS or an emulator.

Two ways, one result:

* `move_with_task`: SQS's own StartMessageMoveTask, which AWS runs server-side at its own pace and
  reports through ListMessageMoveTasks. Emulators do not have it (moto 5.2.5 does not).
* `move_by_copy`: receive, send to the source, then delete, ten at a time. A message is deleted only
  after the source queue accepted its copy, so a crash or a failed send can leave a message in both
  queues, never in neither. The consumers are idempotent, so a duplicate costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.waiting import WaitTimedOut, wait_until

TASK_POLL_SECONDS = 2.0
# While a batch is being copied it stays hidden from other readers, including a second redrive.
COPY_VISIBILITY_SECONDS = 60


@dataclass(frozen=True)
class Moved:
    moved: int
    failed: int  # messages left in the dead-letter queue because the source refused their copy
    method: str


class RedriveError(RuntimeError):
    """The move could not be done or did not finish; the message says why."""


def move_by_copy(sqs: Any, dead_letter_url: str, source_url: str, limit: int | None = None) -> Moved:
    moved = failed = 0
    while limit is None or moved + failed < limit:
        wanted = 10 if limit is None else min(10, limit - moved - failed)
        messages = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=wanted,
            WaitTimeSeconds=1,
            VisibilityTimeout=COPY_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        sent = sqs.send_message_batch(
            QueueUrl=source_url,
            Entries=[_copy(str(index), message) for index, message in enumerate(messages)],
        )
        accepted = {entry["Id"] for entry in sent.get("Successful", [])}
        copied = [message for index, message in enumerate(messages) if str(index) in accepted]
        if copied:
            sqs.delete_message_batch(
                QueueUrl=dead_letter_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(copied)],
            )
        moved += len(copied)
        failed += len(messages) - len(copied)
    return Moved(moved, failed, "copy")


def _copy(entry_id: str, message: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    if message.get("MessageAttributes"):
        entry["MessageAttributes"] = message["MessageAttributes"]
    return entry


def move_with_task(sqs: Any, dead_letter_arn: str, source_arn: str, timeout: float = 600.0) -> Moved:
    handle = sqs.start_message_move_task(SourceArn=dead_letter_arn, DestinationArn=source_arn)["TaskHandle"]

    def task() -> dict[str, Any]:
        tasks = sqs.list_message_move_tasks(SourceArn=dead_letter_arn, MaxResults=10).get("Results", [])
        return next((t for t in tasks if t.get("TaskHandle") == handle), {})

    try:
        ended = wait_until(
            lambda: (current := task()).get("Status") in _TASK_ENDED and current,
            timeout,
            "the message move task to finish",
            interval=TASK_POLL_SECONDS,
        )
    except WaitTimedOut:
        raise RedriveError(f"the move task is still running after {timeout:.0f} s; see ListMessageMoveTasks") from None
    if ended["Status"] != "COMPLETED":
        raise RedriveError(f"the move task ended {ended['Status']}: {ended.get('FailureReason', 'no reason given')}")
    return Moved(int(ended.get("ApproximateNumberOfMessagesMoved", 0)), 0, "move task")


_TASK_ENDED = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
