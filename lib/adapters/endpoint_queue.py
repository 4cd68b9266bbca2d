"""SQS adapter that queues one event for one endpoint (the EndpointQueue port).

Each (event, endpoint) is a message of its own, so each is retried, delayed and dead-lettered on
its own: an endpoint that fails or is slow never holds up another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.domain.endpoints import EndpointMessage


class SqsEndpointQueue:
    def __init__(self, queue_url: str, sqs: Callable[[], Any] = lambda: client("sqs")):
        self.queue_url = queue_url
        self._sqs = sqs

    def send(self, message: EndpointMessage) -> None:
        call_aws(
            lambda: self._sqs().send_message(QueueUrl=self.queue_url, MessageBody=message.to_message()),
            Translation(lambda code, e: f"could not queue a delivery to an endpoint: {code or type(e).__name__}"),
        )
