"""The results API, the `images` function in serverless.yml.

`GET /images?limit=&cursor=&label=` (newest first), `GET /images/{id}` and its `/content`.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import domain_error_response, internal_error_response, json_response
from lib.adapters.clients import in_lambda_init, prepare, s3_signer
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.config import ImagesConfig
from lib.domain.errors import DomainError, InvalidRequest, NotFound
from lib.domain.model import FAILED, is_image_id
from lib.observability import annotate_image, tracer

logger = Logger()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_LABEL_LENGTH = 100
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
        image_id = (event.path_parameters or {}).get("id")
        if image_id is not None and event.raw_path.endswith("/content"):
            return _content(repository, store, image_id)
        if image_id is not None:
            annotate_image(image_id)
            return json_response(200, _one(repository, image_id))
        return json_response(200, _page(repository, event.query_string_parameters or {}))
    except DomainError as e:
        return domain_error_response(e)
    except Exception:
        logger.exception("listing failed")
        return internal_error_response()


def _one(repository: ImageRepository, image_id: str) -> dict[str, Any]:
    if is_image_id(image_id):
        record = repository.get(image_id)
        if record is not None:
            return record.to_api()
        slot = repository.get_slot(image_id, now=time.time())
        if slot is not None:
            return slot.to_api()
    raise NotFound(f"no image with id {image_id[:64]!r}")


def _content(repository: ImageRepository, store: ImageStore | None, image_id: str) -> dict[str, Any]:
    """A redirect to a short-lived presigned GET: the bytes never pass through the function."""
    record = repository.get(image_id) if is_image_id(image_id) else None
    # A FAILED image's object was refused or deleted; a slot has no object yet.
    if record is None or record.status == FAILED or store is None:
        raise NotFound(f"no image content for id {image_id[:64]!r}")
    url = store.presign_get(record.key, CONTENT_LINK_SECONDS)
    return {
        "statusCode": 302,
        "headers": {"location": url, "cache-control": "private, max-age=60"},
        "body": "",
    }


def _page(repository: ImageRepository, query: dict[str, str]) -> dict[str, Any]:
    limit = _limit(query.get("limit"))
    cursor = query.get("cursor") or None
    if cursor is not None and len(cursor) > 2048:
        raise InvalidRequest("cursor is too long")
    label = query.get("label")
    if label is not None:
        # The limit applies to the parameter as sent, as the API contract states it; surrounding
        # whitespace is then ignored.
        if len(label) > MAX_LABEL_LENGTH or not label.strip():
            raise InvalidRequest(f"label must be 1 to {MAX_LABEL_LENGTH} characters")
        page = repository.list_by_label(label.strip(), limit, cursor)
    else:
        page = repository.list_recent(limit, cursor)
    return {"items": [record.to_api() for record in page.records], "next_cursor": page.next_cursor}


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # An empty `limit=` is refused like any other non-number: the contract says integer.
    # isascii: "²" and other Unicode digits pass isdigit() but not int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_dependencies()
    prepare("dynamodb")
    s3_signer()  # the content route's presigned GET
