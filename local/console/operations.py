"""What the console's local routes show and do, read from a running stack's inbox and queues."""

from __future__ import annotations

from typing import Any

from lib.config import RECOGNITION_FEATURES
from local.commands.auth_token import issue_token
from local.commands.dead_letters import move_by_copy
from local.console.routes import LocalOperations
from local.sidecars.inbox import WebhookInbox
from local.topology import Topology


def local_operations(
    topology: Topology, inbox: WebhookInbox, sqs: Any, url_of: Any, cognito: Any = None
) -> LocalOperations:
    """`url_of(logical_id)` gives a queue's URL; dead-letter queues are named by their logical ids.
    `cognito`, a client of the emulator, issues the dev users' tokens when the stack has a user pool."""
    sources = {q.dead_letter_queue: q.logical_id for q in topology.queues if q.dead_letter_queue}

    def deliveries() -> list[dict[str, Any]]:
        found = []
        for delivery in reversed(inbox.deliveries()):
            data = (delivery.body or {}).get("data", {}) if isinstance(delivery.body, dict) else {}
            found.append(
                {
                    "webhook_id": delivery.webhook_id,
                    "image_id": data.get("image_id", ""),
                    "image_name": data.get("name", ""),
                    "event_type": delivery.event_type,
                    "verified": delivery.verified,
                    "status": delivery.status,
                }
            )
        return found

    def dead_letters() -> list[dict[str, Any]]:
        counted = []
        for name in sorted(sources):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url_of(name),
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            count = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
            counted.append({"name": name, "count": count})
        return counted

    def redrive(name: str) -> int:
        if name not in sources:
            return 0
        return move_by_copy(sqs, url_of(name), url_of(sources[name])).moved

    def sign_in(user: str) -> str | None:
        if cognito is None or not topology.user_pools:
            return None
        return issue_token(cognito, topology, user)

    return LocalOperations(
        deliveries=deliveries,
        dead_letters=dead_letters,
        redrive=redrive,
        features=recognition_features(topology),
        sign_in=sign_in,
    )


def recognition_features(topology: Topology) -> dict[str, list[str]]:
    """The features the functions were given (FEATURES, or serverless.yml's recognitionFeatures)."""
    listed = next(
        (f.environment["RECOGNITION_FEATURES"] for f in topology.functions if "RECOGNITION_FEATURES" in f.environment),
        "",
    )
    on = {name.strip() for name in str(listed).split(",") if name.strip()} | {"labels"}  # as lib/config.py reads it
    return {"on": sorted(on), "off": sorted(RECOGNITION_FEATURES - on)}
