"""upload: `GET /?url=&name=` and `POST /images` (JSON `{url, name}`, or a JPEG/PNG body).

`GET /` without `url` is the original design's list: it answers exactly as `GET /images` does
(handlers/listing.py), since API Gateway routes by path and method, never by query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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
from handlers.listing import Listings, list_page, list_parameters
from lib.adapters.clients import in_lambda_init, prepare
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.config import UploadConfig
from lib.domain.errors import DomainError, InvalidRequest, UnsupportedMediaType
from lib.domain.image_checks import ImageLimits
from lib.domain.keys import CONTENT_TYPES
from lib.domain.model import ImageRecord
from lib.domain.names import clean_name
from lib.fetching.fetch import FetchPolicy, SafeFetcher
from lib.observability import (
    IMAGES_ACCEPTED,
    IMAGES_REFUSED,
    annotate_image,
    count,
    count_by,
    count_if_throttled,
    metrics,
    tracer,
)
from lib.usecases.ingest import IngestService

logger = Logger()


@functools.cache
def build_service() -> IngestService:
    config = UploadConfig.from_env()
    return IngestService(
        fetcher=SafeFetcher(FetchPolicy(max_bytes=config.max_image_bytes, allowed=config.fetch_allowlist)),
        store=ImageStore(config.images_bucket),
        repository=ImageRepository(config.images_table),
        limits=ImageLimits(max_bytes=config.max_image_bytes),
    )


# The API's request id is the correlation id: it joins these lines to the API's access log.
@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(APIGatewayProxyEventV2(event), build_service(), build_listings)


@functools.cache
def build_listings() -> ImageRepository:
    return ImageRepository(UploadConfig.from_env().images_table)


def handle(
    event: APIGatewayProxyEventV2, service: IngestService, listings: Callable[[], Listings] | None = None
) -> dict[str, Any]:
    query = event.query_string_parameters or {}
    if event.request_context.http.method == "GET" and "url" not in query and listings is not None:
        return _list(event, listings())
    try:
        record = _ingest(event, service)
    except DomainError as e:
        logger.info("upload refused", extra={"code": e.code, "reason": e.message})
        count_by(IMAGES_REFUSED, "ErrorCode", e.code)
        count_if_throttled(e)
        return domain_error_response(e)
    except Exception:
        logger.exception("upload failed")
        return internal_error_response()
    count(IMAGES_ACCEPTED)
    annotate_image(record.image_id)
    return json_response(
        202,
        {
            "image_id": record.image_id,
            "status": record.status,
            "name": record.name,
            "links": {"self": f"/images/{record.image_id}"},
        },
        headers={"location": f"/images/{record.image_id}"},
    )


def _list(event: APIGatewayProxyEventV2, listings: Listings) -> dict[str, Any]:
    query = event.query_string_parameters or {}
    try:
        # The one operation documents `name` for both forms: it is held to its rules here too.
        clean_name(query.get("name"))
        return json_response(200, list_page(listings, owner_of(event), query))
    except DomainError as e:
        return domain_error_response(e)
    except Exception:
        logger.exception("listing failed")
        return internal_error_response()


def _ingest(event: APIGatewayProxyEventV2, service: IngestService) -> ImageRecord:
    query = event.query_string_parameters or {}
    owner = owner_of(event)
    if event.request_context.http.method == "GET":
        # The list's parameters mean nothing beside a url, but are held to their rules, as documented.
        list_parameters(query)
        return service.ingest_url(_required_url(query.get("url")), query.get("name"), owner)

    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type in CONTENT_TYPES:
        return service.ingest_bytes(raw_body(event), query.get("name"), owner)
    if content_type == "application/json":
        payload = json_body(event)
        # The body's name wins; a `?name=` beside it is still held to the same rules, as the contract says.
        clean_name(query.get("name"))
        name = payload.get("name") if payload.get("name") is not None else query.get("name")
        return service.ingest_url(_required_url(payload.get("url")), name, owner)
    raise UnsupportedMediaType(
        'send application/json with {"url", "name"}, or the image itself as image/jpeg or image/png'
    )


def _required_url(url: Any) -> str:
    if url is not None and not isinstance(url, str):
        raise InvalidRequest(f"url must be a string, not {_json_type(url)}")
    if not url or not url.strip():
        raise InvalidRequest("url is required")
    if len(url) > 2048:
        raise InvalidRequest("url is longer than 2048 characters")
    return url.strip()


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, as the caller wrote it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_service()
    prepare("s3", "dynamodb")
