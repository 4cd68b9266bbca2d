"""Reading what a chaos run left in its dead-letter queues."""

from __future__ import annotations

from local.stack import LocalSystem


def dead_letter_bodies(stack: LocalSystem, logical_id: str) -> list[str]:
    """Every message body in a dead-letter queue. Read with a long visibility, so each is seen once."""
    sqs, url = stack.session().client("sqs"), stack.physical(logical_id)
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get(
        "Messages", []
    ):
        bodies += [message["Body"] for message in messages]
    return bodies
