"""images: `GET /images?limit=&cursor=&label=` (newest first) and `GET /images/{id}`."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers.http import domain_error_response, internal_error_response, json_response
from lib.clients import in_lambda_init, prepare
from lib.config import ImagesConfig
from lib.errors import DomainError, InvalidRequest, NotFound
from lib.model import is_image_id
from lib.observability import annotate_image, tracer
from lib.repository import ImageRepository

logger = Logger()

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_LABEL_LENGTH = 100


@functools.cache
def build_repository() -> ImageRepository:
    return ImageRepository(ImagesConfig.from_env().images_table)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(APIGatewayProxyEventV2(event), build_repository())


def handle(event: APIGatewayProxyEventV2, repository: ImageRepository) -> dict[str, Any]:
    try:
        image_id = (event.path_parameters or {}).get("id")
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
    record = repository.get(image_id) if is_image_id(image_id) else None
    if record is None:
        raise NotFound(f"no image with id {image_id[:64]!r}")
    return record.to_api()


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
    build_repository()
    prepare("dynamodb")
