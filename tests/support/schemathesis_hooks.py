"""Schemathesis hooks for fuzzing the local stack: keep every generated upload URL on this machine.

Upload operations fetch the URL they are given. Generated URLs name arbitrary hosts and addresses,
and the API, rightly, fetches any public one. So before each call, a URL the fetcher would actually
connect to is moved onto the stack's fixture server (scheme, path and query kept). A URL the
fetcher refuses before any network activity (bad scheme, credentials, a literal private address,
malformed) is sent unchanged, so the SSRF guard's refusals are still exercised.

Loaded by the schemathesis CLI through SCHEMATHESIS_HOOKS; FUZZ_FIXTURES_URL names the fixture server.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from urllib3.util import parse_url

from lib.addresses import AddressPolicy
from lib.errors import DomainError
from lib.fetch import check_url


def confined(url: str, fixtures: str) -> str:
    """`url` if the fetcher refuses it without touching the network, else the same path on `fixtures`."""
    allowed = AddressPolicy((parse_url(fixtures).netloc,))
    candidate = url.strip()  # what the upload handler passes on
    try:
        check_url(candidate, allowed)
    except (DomainError, ValueError):
        return url
    parsed = parse_url(candidate)
    if parsed.netloc == parse_url(fixtures).netloc:
        return url
    path = "/" + (parsed.path or "").lstrip("/")
    query = f"?{parsed.query}" if parsed.query else ""
    return fixtures.rstrip("/") + path + query


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    fixtures = os.environ["FUZZ_FIXTURES_URL"]
    for container in (case.query, case.body):
        if isinstance(container, dict) and isinstance(container.get("url"), str):
            container["url"] = confined(container["url"], fixtures)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    # A cursor is opaque: only one the API issued is valid, and any other is refused with 400 by
    # design. So a generated cursor makes even a schema-valid listing request rightly rejected.
    generated_cursor = case.method == "GET" and case.path == "/images" and bool((case.query or {}).get("cursor"))
    return not (generated_cursor and isinstance(failure, RejectedPositiveData))
