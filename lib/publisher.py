"""SNS adapter for completion events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.clients import client
from lib.errors import TransientError
from lib.events import CompletionEvent
from lib.throttling import Backoff, Throttled, is_throttle


class EventPublisher:
    def __init__(self, topic_arn: str, sns: Callable[[], Any] = lambda: client("sns"), backoff: Backoff | None = None):
        self.topic_arn = topic_arn
        self._sns = sns
        self._backoff = backoff or Backoff()

    def publish(self, event: CompletionEvent) -> None:
        self._backoff.run(lambda: self._publish_once(event))

    def _publish_once(self, event: CompletionEvent) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._sns().publish(
                TopicArn=self.topic_arn,
                Message=event.to_message(),
                MessageAttributes={"type": {"DataType": "String", "StringValue": event.type}},
            )
        except ClientError as e:
            if is_throttle(e.response["Error"]["Code"]):
                raise Throttled("SNS", f"publishing {event.type} for image {event.image_id} was throttled") from e
            raise TransientError(f"could not publish {event.type} for image {event.image_id}: {e}") from e
        except BotoCoreError as e:
            raise TransientError(f"could not publish {event.type} for image {event.image_id}: {e}") from e
