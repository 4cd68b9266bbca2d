"""The console's static files, and the page itself with the settings of whoever serves it."""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path

STATIC = Path(__file__).parent / "static"
INDEX = "index.html"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def static_files() -> list[str]:
    """Every file the console serves, relative to its root, the page first."""
    others = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file() and p.name != INDEX)
    return [INDEX, *others]


def page(api_base: str, local_token: str) -> bytes:
    text = (STATIC / INDEX).read_text()
    text = text.replace(
        '<meta name="api-base" content="">', f'<meta name="api-base" content="{html.escape(api_base)}">'
    )
    text = text.replace(
        '<meta name="local-token" content="">', f'<meta name="local-token" content="{html.escape(local_token)}">'
    )
    return text.encode()


def read(relative: str) -> tuple[str, bytes] | None:
    """A static file's content type and bytes; None for anything outside the console's files."""
    if relative not in static_files():
        return None
    path = STATIC / relative
    content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return content_type, path.read_bytes()


# Served with every file: the page runs its own modules only, and no other site may frame it.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; "
        "connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
