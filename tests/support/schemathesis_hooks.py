"""Schemathesis hooks for fuzzing the local stack: keep every generated upload URL on this machine.

Upload operations fetch the URL they are given. Generated URLs name arbitrary hosts and addresses,
and the API, rightly, fetches any public one. So before each call, a URL the fetcher would actually
connect to is moved onto the stack's fixture server, to one of its images (the query kept): a
schema-valid upload is then accepted, as `--checks all` expects. A URL the fetcher refuses before
any network activity (bad scheme, credentials, a literal private address, malformed) is sent
unchanged, so the SSRF guard's refusals are still exercised.

Refusals no schema can express are set aside (filter_failure), and counted in the run's summary: a
generated cursor (only one the API issued is valid), a URL refused by the SSRF guard
(`url_not_allowed`: a private address is a well-formed URI), and a webhook endpoint URL refused for
its scheme, its address or its DNS (`endpoint_url_*`, docs/webhooks.md).

Loaded by the schemathesis CLI through SCHEMATHESIS_HOOKS; FUZZ_FIXTURES_URL names the fixture server.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from urllib3.util import parse_url

from lib.domain.errors import DomainError
from lib.fetching.addresses import AddressPolicy
from lib.fetching.fetch import check_url

FIXTURE_IMAGE = "/chelsea.jpg"
MAX_URL_LENGTH = 2048  # the spec's maxLength for `url`, which handlers/upload.py enforces


def confined(url: str, fixtures: str) -> str:
    """`url` if the fetcher refuses it without touching the network, else the same path on `fixtures`."""
    allowed = AddressPolicy((parse_url(fixtures).netloc,))
    if len(url) > MAX_URL_LENGTH:
        return url  # the handler refuses it as too long; moving it would make an invalid request valid
    candidate = url.strip()  # what the upload handler passes on
    try:
        check_url(candidate, allowed)
    except (DomainError, ValueError):
        return url
    parsed = parse_url(candidate)
    query = f"?{parsed.query}" if parsed.query else ""
    return fixtures.rstrip("/") + FIXTURE_IMAGE + query


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
    if not isinstance(failure, RejectedPositiveData):
        return True
    listing = case.path in ("/images", "/", "/webhooks/{id}/deliveries")
    generated_cursor = case.method == "GET" and listing and bool((case.query or {}).get("cursor"))
    code = _error_code(response) or ""
    return not (generated_cursor or code == "url_not_allowed" or code.startswith("endpoint_url_"))


def _error_code(response: Any) -> str | None:
    try:
        return json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
