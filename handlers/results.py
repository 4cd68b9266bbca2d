"""The results API, the `images` function in serverless.yml.

`GET /images?limit=&cursor=&label=` (newest first), `GET /images/{id}` and its `/content`: each
only ever of the caller's own images (handlers/http.py's owner_of).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import domain_error_response, internal_error_response, json_response, owner_of
from handlers.listing import list_page
from lib.adapters.clients import in_lambda_init, prepare, s3_signer
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.config import ImagesConfig
from lib.domain.errors import DomainError, NotFound
from lib.domain.model import FAILED, is_image_id
from lib.observability import annotate_image, tracer

logger = Logger()

# The same words whatever the id: an answer about another owner's image must not even echo its id.
NO_SUCH_IMAGE = "no image with this id"
NO_SUCH_CONTENT = "no image content for this id"
# Long enough for a browser to start the download; short enough that a copied link soon stops working.
CONTENT_LINK_SECONDS = 300


@dataclass(frozen=True)
class Dependencies:
    repository: ImageRepository
    store: ImageStore


@functools.cache
def build_dependencies() -> Dependencies:
    config = ImagesConfig.from_env()
    return Dependencies(ImageRepository(config.images_table), ImageStore(config.images_bucket))


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dependencies = build_dependencies()
    return handle(APIGatewayProxyEventV2(event), dependencies.repository, dependencies.store)


def handle(
    event: APIGatewayProxyEventV2, repository: ImageRepository, store: ImageStore | None = None
) -> dict[str, Any]:
    try:
        owner = owner_of(event)
        image_id = (event.path_parameters or {}).get("id")
        if image_id is not None and event.raw_path.endswith("/content"):
            return _content(repository, store, owner, image_id)
        if image_id is not None:
            annotate_image(image_id)
            return json_response(200, _one(repository, owner, image_id))
        return json_response(200, list_page(repository, owner, event.query_string_parameters or {}))
    except DomainError as e:
        return domain_error_response(e)
    except Exception:
        logger.exception("listing failed")
        return internal_error_response()


def _one(repository: ImageRepository, owner: str, image_id: str) -> dict[str, Any]:
    # Another owner's image, a deleted one and a missing one all answer the same 404.
    if is_image_id(image_id):
        record = repository.get(image_id)
        if record is not None:
            if record.visible_to(owner):
                return record.to_api()
        else:
            # No image yet: perhaps an upload slot, whose object has not arrived.
            slot = repository.get_slot(image_id, now=time.time())
            if slot is not None and slot.owner == owner:
                return slot.to_api()
    raise NotFound(NO_SUCH_IMAGE)


def _content(repository: ImageRepository, store: ImageStore | None, owner: str, image_id: str) -> dict[str, Any]:
    """A redirect to a short-lived presigned GET: the bytes never pass through the function."""
    record = repository.get_owned(image_id, owner) if is_image_id(image_id) else None
    # A FAILED image's object was refused or deleted; a slot has no object yet.
    if record is None or record.status == FAILED or store is None:
        raise NotFound(NO_SUCH_CONTENT)
    url = store.presign_get(record.key, CONTENT_LINK_SECONDS)
    return {
        "statusCode": 302,
        "headers": {"location": url, "cache-control": "private, max-age=60"},
        "body": "",
    }


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_dependencies()
    prepare("dynamodb")
    s3_signer()  # the content route's presigned GET
