"""The list both `GET /images` and `GET /` (without `url`) answer: the caller's images, newest
first, paged by cursor, optionally with one label. One parser, so the two routes cannot differ."""

from __future__ import annotations

import re
from typing import Any, Protocol

from lib.adapters.repository import Page
from lib.domain.errors import InvalidRequest

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_LABEL_LENGTH = 100
MAX_CURSOR_LENGTH = 2048
CURSOR_SHAPE = re.compile(r"[A-Za-z0-9_-]*")  # unpadded URL-safe base64, as the API issues them


class Listings(Protocol):
    def list_recent(self, owner: str, limit: int, cursor: str | None = None) -> Page: ...

    def list_by_label(self, owner: str, label: str, limit: int, cursor: str | None = None) -> Page: ...


def list_page(repository: Listings, owner: str, query: dict[str, str]) -> dict[str, Any]:
    limit, cursor, label = list_parameters(query)
    if label is not None:
        page = repository.list_by_label(owner, label, limit, cursor)
    else:
        page = repository.list_recent(owner, limit, cursor)
    return {"items": [record.to_api() for record in page.records], "next_cursor": page.next_cursor}


def list_parameters(query: dict[str, str]) -> tuple[int, str | None, str | None]:
    """The limit, cursor and label of a list request, checked as the contract states them."""
    limit = _limit(query.get("limit"))
    cursor = query.get("cursor") or None
    if cursor is not None and (len(cursor) > MAX_CURSOR_LENGTH or not CURSOR_SHAPE.fullmatch(cursor)):
        raise InvalidRequest("cursor is not valid; pass back the next_cursor of a previous page")
    label = query.get("label")
    if label is not None:
        # The limit applies to the parameter as sent, as the API contract states it; surrounding
        # whitespace is then ignored.
        if len(label) > MAX_LABEL_LENGTH or not label.strip():
            raise InvalidRequest(f"label must be 1 to {MAX_LABEL_LENGTH} characters")
        label = label.strip()
    return limit, cursor, label


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # An empty `limit=` is refused like any other non-number: the contract says integer.
    # isascii: "²" and other Unicode digits pass isdigit() but not int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)
