"""uploads: `POST /uploads` `{"name", "content_type"}` -> a presigned S3 POST for one image.

For images too large for the HTTP API's Lambda payload (about 4.4 MB of binary body). The bytes go
straight to S3; recognition checks them when they arrive (lib/usecases/arrivals.py).
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import domain_error_response, internal_error_response, json_body, json_response, owner_of
from lib.adapters.clients import in_lambda_init, prepare, s3_signer
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.config import DirectUploadConfig
from lib.domain.errors import DomainError, InvalidRequest
from lib.observability import annotate_image, tracer
from lib.usecases.direct_uploads import DirectUploads

logger = Logger()


@functools.cache
def build_service() -> DirectUploads:
    config = DirectUploadConfig.from_env()
    return DirectUploads(
        store=ImageStore(config.images_bucket),
        repository=ImageRepository(config.images_table),
        max_bytes=config.max_image_bytes,
    )


# The API's request id is the correlation id: it joins these lines to the API's access log.
@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(APIGatewayProxyEventV2(event), build_service())


def handle(event: APIGatewayProxyEventV2, service: DirectUploads) -> dict[str, Any]:
    try:
        payload = json_body(event)
        content_type = payload.get("content_type")
        if not isinstance(content_type, str):
            raise InvalidRequest("content_type is required: image/jpeg or image/png")
        opened = service.open(payload.get("name"), content_type, owner_of(event))
    except DomainError as e:
        logger.info("upload slot refused", extra={"code": e.code, "reason": e.message})
        return domain_error_response(e)
    except Exception:
        logger.exception("upload slot failed")
        return internal_error_response()
    slot = opened.slot
    logger.append_keys(image_id=slot.image_id)
    annotate_image(slot.image_id)
    logger.info("upload slot opened", extra={"content_type": slot.content_type})
    return json_response(
        201,
        {
            "image_id": slot.image_id,
            "status": "AWAITING_UPLOAD",
            "upload": {"url": opened.post.url, "fields": opened.post.fields},
            "expires_at": slot.expires_at_text,
            "links": {"self": f"/images/{slot.image_id}"},
        },
        headers={"location": f"/images/{slot.image_id}"},
    )


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_service()
    prepare("dynamodb")
    s3_signer()  # signs the presigned POST
