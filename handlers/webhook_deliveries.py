"""The delivery-log routes of the webhooks function: `GET /webhooks/{id}/deliveries` and
`POST /webhooks/{id}/replay` (docs/webhooks.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import json_body, json_response
from lib.domain.delivery_log import LogQuery, ReplayRequest
from lib.usecases.delivery_log import DeliveryLogPages
from lib.usecases.replay import Replays

logger = Logger(child=True)


@dataclass(frozen=True)
class DeliveryRoutes:
    pages: DeliveryLogPages
    replays: Replays

    def route(self, event: APIGatewayProxyEventV2, owner: str, endpoint_id: str) -> dict[str, Any] | None:
        """The response of a delivery-log route, or None when the request is for another route."""
        path, method = event.raw_path.rstrip("/"), event.request_context.http.method
        if path.endswith("/deliveries") and method == "GET":
            query = LogQuery.parse(event.query_string_parameters or {})
            entries, cursor = self.pages.page(owner, endpoint_id, query)
            return json_response(200, {"items": [e.to_api() for e in entries], "next_cursor": cursor})
        if path.endswith("/replay") and method == "POST":
            replayed = self.replays.replay(owner, endpoint_id, ReplayRequest.parse(json_body(event)))
            logger.info("webhook messages replayed", extra={"replayed": len(replayed)})
            return json_response(202, {"replayed": len(replayed), "webhook_ids": replayed})
        return None
