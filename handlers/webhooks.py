"""webhooks: each owner's webhook endpoints (the `webhooks` function in serverless.yml).

`POST /webhooks`, `GET /webhooks`, `GET|PATCH|DELETE /webhooks/{id}`,
`POST /webhooks/{id}/rotate-secret`, `POST /webhooks/{id}/test`, and the delivery log's
`GET /webhooks/{id}/deliveries` and `POST /webhooks/{id}/replay` (handlers/webhook_deliveries.py);
docs/webhooks.md.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import (
    domain_error_response,
    internal_error_response,
    json_body,
    json_response,
    owner_of,
    raw_body,
)
from handlers.webhook_deliveries import DeliveryRoutes
from lib.adapters.clients import in_lambda_init, prepare
from lib.adapters.delivery_log_table import DeliveryLogTable
from lib.adapters.endpoint_queue import SqsEndpointQueue
from lib.adapters.endpoint_records import EndpointTable
from lib.adapters.secret_box import KmsSecretBox
from lib.config import WebhooksConfig
from lib.domain.errors import DomainError, NotFound
from lib.fetching.endpoint_urls import EndpointUrlPolicy
from lib.observability import tracer
from lib.usecases.delivery_log import DeliveryLogPages
from lib.usecases.replay import Replays
from lib.usecases.subscriptions import Subscriptions

logger = Logger()


@functools.cache
def build_subscriptions() -> Subscriptions:
    config = WebhooksConfig.from_env()
    return Subscriptions(
        records=EndpointTable(config.webhooks_table),
        secrets=KmsSecretBox(config.webhook_key_id),
        urls=EndpointUrlPolicy(config.webhook_allowlist),
        queue=SqsEndpointQueue(config.endpoint_queue_url),
        log=DeliveryLogTable(config.webhooks_table),
    )


@functools.cache
def build_delivery_routes() -> DeliveryRoutes:
    config = WebhooksConfig.from_env()
    records, history = EndpointTable(config.webhooks_table), DeliveryLogTable(config.webhooks_table)
    return DeliveryRoutes(
        DeliveryLogPages(records, history), Replays(records, history, SqsEndpointQueue(config.endpoint_queue_url))
    )


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(APIGatewayProxyEventV2(event), build_subscriptions(), build_delivery_routes())


def handle(
    event: APIGatewayProxyEventV2, subscriptions: Subscriptions, deliveries: DeliveryRoutes | None = None
) -> dict[str, Any]:
    try:
        return _route(event, subscriptions, deliveries)
    except DomainError as e:
        # The code and message only: a request body may hold a URL with a token in its query.
        logger.info("webhooks request refused", extra={"code": e.code})
        return domain_error_response(e)
    except Exception:
        logger.exception("webhooks request failed")
        return internal_error_response()


def _route(
    event: APIGatewayProxyEventV2, subscriptions: Subscriptions, deliveries: DeliveryRoutes | None
) -> dict[str, Any]:
    owner = owner_of(event)
    method = event.request_context.http.method
    endpoint_id = (event.path_parameters or {}).get("id")
    now = time.time()
    if endpoint_id is None:
        if method == "POST":
            endpoint, secret = subscriptions.register(owner, _json_object(event))
            logger.info("webhook endpoint registered", extra={"endpoint_id": endpoint.endpoint_id})
            return json_response(
                201,
                {**endpoint.to_api(now), "secret": secret},
                headers={"location": f"/webhooks/{endpoint.endpoint_id}"},
            )
        return json_response(200, {"items": [e.to_api(now) for e in subscriptions.list(owner)]})
    logger.append_keys(endpoint_id=endpoint_id[:64])
    routed = deliveries.route(event, owner, endpoint_id) if deliveries is not None else None
    if routed is not None:
        return routed
    path = event.raw_path.rstrip("/")
    if path.endswith("/rotate-secret"):
        endpoint, secret = subscriptions.rotate(owner, endpoint_id, _json_object(event, optional=True))
        logger.info("webhook secret rotated")
        return json_response(200, {**endpoint.to_api(now), "secret": secret})
    if path.endswith("/test"):
        test = subscriptions.send_test(owner, endpoint_id)
        return json_response(202, {"webhook_id": test.id, "type": test.type})
    if method == "GET":
        return json_response(200, subscriptions.get(owner, endpoint_id).to_api(now))
    if method == "PATCH":
        return json_response(200, subscriptions.update(owner, endpoint_id, _json_object(event)).to_api(now))
    if method == "DELETE":
        subscriptions.delete(owner, endpoint_id)
        return {"statusCode": 204, "headers": {}, "body": ""}
    raise NotFound("no such webhooks route")


def _json_object(event: APIGatewayProxyEventV2, optional: bool = False) -> dict[str, Any]:
    if optional and not raw_body(event).strip():
        return {}
    return json_body(event)


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_subscriptions()
    build_delivery_routes()
    prepare("dynamodb", "kms", "sqs")
