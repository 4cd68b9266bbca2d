"""delete: `DELETE /images/{id}`, the owner's delete of one image (lib/usecases/deletion.py).

204 once deleted; 404 for another owner's image, a deleted one and a missing one alike.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import domain_error_response, internal_error_response, owner_of
from lib.adapters.clients import in_lambda_init, prepare
from lib.adapters.publisher import EventPublisher
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.config import DeleteConfig
from lib.domain.errors import DomainError
from lib.observability import annotate_image, tracer
from lib.usecases.deletion import ImageDeletion

logger = Logger()


@functools.cache
def build_deletion() -> ImageDeletion:
    config = DeleteConfig.from_env()
    return ImageDeletion(
        records=ImageRepository(config.images_table),
        objects=ImageStore(config.images_bucket),
        publisher=EventPublisher(config.results_topic_arn),
    )


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(APIGatewayProxyEventV2(event), build_deletion())


def handle(event: APIGatewayProxyEventV2, deletion: ImageDeletion) -> dict[str, Any]:
    image_id = (event.path_parameters or {}).get("id") or ""
    try:
        deletion.delete(owner_of(event), image_id)
    except DomainError as e:
        return domain_error_response(e)
    except Exception:
        logger.exception("delete failed")
        return internal_error_response()
    annotate_image(image_id)
    return {"statusCode": 204, "headers": {}, "body": ""}


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_deletion()
    prepare("dynamodb", "s3", "sns")
