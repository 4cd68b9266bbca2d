"""The API contract (docs/openapi.yaml) checked on every response a test receives from the API.

`ContractSession(api)` is a `requests.Session` that validates each response from `api` with
openapi-core before the test sees it, and raises `ContractViolation` for one the spec does not allow:
an undocumented status or content type, a body that breaks its schema, a missing required header.
Requests the spec has no operation for (an unknown path or method) must get API Gateway's own
`404 {"message": "Not Found"}`, which the spec's description promises for them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import yaml
from jsonschema import Draft202012Validator

if TYPE_CHECKING:
    from openapi_core import OpenAPI

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


class ContractViolation(AssertionError):
    """A response the API contract does not allow."""


@functools.cache
def spec_document() -> dict[str, Any]:
    # libyaml where it is built in: read at collection, by every test process.
    return yaml.load(SPEC_PATH.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def _openapi_for(base_url: str) -> OpenAPI:
    # The spec's servers are templates for deployed stages; a test's API lives on a port of its own.
    from openapi_core import OpenAPI

    document = {**spec_document(), "servers": [{"url": base_url}]}
    return OpenAPI.from_dict(document)


def validate_response(base_url: str, response: requests.Response) -> None:
    """Raise ContractViolation unless `response` (to a request made to `base_url`) keeps to the spec."""
    # openapi-core is imported on first use (0.2 s): every test process collects this module's
    # importers, and most never validate a response.
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
    from openapi_core.exceptions import OpenAPIError
    from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

    request = response.request
    try:
        _openapi_for(base_url.rstrip("/")).validate_response(
            RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response)
        )
    except (PathNotFound, OperationNotFound):
        _check_unrouted(request, response)
    except OpenAPIError as error:
        raise ContractViolation(_describe(request, response, error)) from None


def _check_unrouted(request: requests.PreparedRequest, response: requests.Response) -> None:
    body = _json_or_none(response)
    schema = spec_document()["components"]["schemas"]["GatewayMessage"]
    if response.status_code != 404 or body is None or not Draft202012Validator(schema).is_valid(body):
        raise ContractViolation(
            _describe(request, response, "no operation in the spec; expected API Gateway's 404 {'message': ...}")
        )


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _describe(request: requests.PreparedRequest, response: requests.Response, error: object) -> str:
    # openapi-core chains the schema errors as the cause; they say more than the wrapper does.
    detail = getattr(error, "__cause__", None) or error
    return (
        f"{request.method} {request.path_url} -> {response.status_code} breaks docs/openapi.yaml: {detail}\n"
        f"body: {response.text[:500]}"
    )


class ContractSession(requests.Session):
    """A session whose responses from `api` are validated against the spec before they are returned."""

    def __init__(self, api: str):
        super().__init__()
        self.api = api.rstrip("/")
        self.validated = 0
        self.hooks["response"].append(self._validate)

    def _validate(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if response.url.startswith(self.api + "/") or response.url == self.api:
            validate_response(self.api, response)
            self.validated += 1
        return response
