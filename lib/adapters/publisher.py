"""SNS adapter for completion events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.domain.events import CompletionEvent
from lib.throttling import Backoff


class EventPublisher:
    def __init__(self, topic_arn: str, sns: Callable[[], Any] = lambda: client("sns"), backoff: Backoff | None = None):
        self.topic_arn = topic_arn
        self._sns = sns
        self._backoff = backoff or Backoff()

    def publish(self, event: CompletionEvent) -> None:
        self._backoff.run(lambda: self._publish_once(event))

    def _publish_once(self, event: CompletionEvent) -> None:
        what = f"{event.type} for image {event.image_id}"
        call_aws(
            lambda: self._sns().publish(
                TopicArn=self.topic_arn,
                Message=event.to_message(),
                MessageAttributes={"type": {"DataType": "String", "StringValue": event.type}},
            ),
            Translation(
                failed=lambda code, e: f"could not publish {what}: {e}",
                dependency="SNS",
                throttled=lambda code: f"publishing {what} was throttled",
            ),
        )
