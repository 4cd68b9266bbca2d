"""The API contract: the spec covers every route, its examples keep to its schemas, and the response
validator the e2e tests use refuses what the spec does not allow."""

import json

import pytest
import requests
from jsonschema import Draft202012Validator

from lib.domain.delivery_log import FAILED, SKIPPED, Attempt, LoggedDelivery
from local import topology
from tests.support.contract import ContractViolation, spec_document, validate_response

API = "http://127.0.0.1:8000"
IMAGE_ID = "e57d76351ff444909cd32701bcec84e3"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def response(method, path, status, body, headers=None, content_type="application/json"):
    prepared = requests.Request(method, API + path).prepare()
    result = requests.Response()
    result.status_code = status
    result._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    result.headers.update({"content-type": content_type, **(headers or {})})
    result.request = prepared
    result.url = prepared.url
    return result


def image(**changes):
    body = {
        "image_id": IMAGE_ID,
        "name": "chelsea.jpg",
        "status": "DONE",
        "created_at": "2026-11-26T21:55:01.425904Z",
        "updated_at": "2026-11-26T21:55:02.253298Z",
        "content_type": "image/jpeg",
        "size_bytes": 35042,
        "width": 451,
        "height": 300,
        "source": {"type": "upload"},
        "labels": [{"name": "Cat", "confidence": 96.9, "parents": ["Pet"], "categories": ["Animals and Pets"]}],
        "links": {"self": f"/images/{IMAGE_ID}"},
    }
    body.update(changes)
    return body


ACCEPTED = {"image_id": IMAGE_ID, "status": "PENDING", "name": "cat", "links": {"self": f"/images/{IMAGE_ID}"}}


def test_the_spec_documents_exactly_the_routes_serverless_yml_declares():
    declared = {(route.method.lower(), route.path) for route in topology.load("local", env={}).routes}
    documented = {
        (method, path) for path, item in spec_document()["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert documented == declared


def test_every_operation_documents_the_gateways_own_failures():
    for path, item in spec_document()["paths"].items():
        for method, operation in item.items():
            assert {"401", "413", "500", "503"} <= set(operation["responses"]), f"{method} {path}"


def _examples(node, pointer=""):
    """(where, schema pointer, example value) for each example next to a schema anywhere in the spec."""
    if isinstance(node, dict):
        if "schema" in node:
            values = []
            if "example" in node:
                values.append(("example", node["example"]))
            for name, example in (node.get("examples") or {}).items():
                values.append((name, _resolve(example)["value"]))
            for name, value in values:
                yield f"{pointer}/{name}", f"{pointer}/schema", value
        for key, value in node.items():
            yield from _examples(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _examples(value, f"{pointer}/{index}")


def _resolve(node):
    while "$ref" in node:
        node = _resolve_pointer(node["$ref"].removeprefix("#"))
    return node


def _resolve_pointer(pointer):
    node = spec_document()
    for part in pointer.lstrip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/").replace("~0", "~")]
    return node


EXAMPLES = list(_examples(spec_document()))

ENDPOINT_ID = "ep_0123456789abcdefghij"
# What the delivery log really answers (lib/domain/delivery_log.py): a failed message with a retry
# scheduled, and one skipped with its reason.
LOGGED = [
    LoggedDelivery(
        webhook_id=f"msg_{IMAGE_ID}",
        type="image.recognized",
        status=FAILED,
        created_at="2026-01-01T00:00:00.000000Z",
        updated_at="2026-01-01T00:00:01.000000Z",
        event=None,
        next_retry_at="2026-01-01T00:00:11.000000Z",
        attempts=(
            Attempt("2026-01-01T00:00:01.000000Z", 500, 12.3, "HTTP 500"),
            Attempt("2026-01-01T00:00:02Z", None, 0.0, "timed out", True),
        ),
    ).to_api(),
    LoggedDelivery(
        webhook_id="msg_test_1",
        type="webhook.test",
        status=SKIPPED,
        created_at="2026-01-01T00:00:00.000000Z",
        updated_at="2026-01-01T00:00:00.000000Z",
        event=None,
        reason="the endpoint is disabled",
    ).to_api(),
]


def test_the_spec_has_examples_for_its_responses_and_parameters():
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize("where, schema_pointer, value", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_keeps_to_its_own_schema(where, schema_pointer, value):
    if _resolve_pointer(schema_pointer).get("format") == "binary":
        # A binary body's example is a placeholder for bytes: JSON Schema has nothing to check in it.
        pytest.skip(f"{where}: a binary body (format: binary) has no JSON value to validate")
    # The whole document is the root schema, so "#/components/schemas/..." references resolve.
    validator = Draft202012Validator({**spec_document(), "$ref": "#" + schema_pointer})
    errors = [error.message for error in validator.iter_errors(value)]
    assert not errors, f"{where}: {errors}"


@pytest.mark.parametrize(
    "method, path, status, body, headers",
    [
        ("GET", "/?url=https://example.com/a.jpg", 202, ACCEPTED, {"location": f"/images/{IMAGE_ID}"}),
        ("POST", "/images", 202, ACCEPTED, {"location": f"/images/{IMAGE_ID}"}),
        ("GET", f"/images/{IMAGE_ID}", 200, image(), {}),
        ("GET", "/images?limit=2", 200, {"items": [image(status="PENDING", labels=[])], "next_cursor": "abc"}, {}),
        # `GET /` without url is the original design's list: the same page as `GET /images`
        ("GET", "/?limit=2&label=cat", 200, {"items": [image()], "next_cursor": "abc"}, {}),
        ("GET", "/", 400, {"error": {"code": "invalid_request", "message": "limit must be an integer"}}, {}),
        ("GET", "/images/nope", 404, {"error": {"code": "not_found", "message": "no image with this id"}}, {}),
        ("GET", "/?url=ftp://x", 400, {"error": {"code": "url_not_allowed", "message": "only http"}}, {}),
        ("POST", "/images", 413, {"message": "Request Entity Too Large"}, {}),
        ("GET", "/images", 500, {"message": "Internal Server Error"}, {}),
        ("DELETE", "/images", 404, {"message": "Not Found"}, {}),
        ("GET", "/nowhere", 404, {"message": "Not Found"}, {}),
        ("GET", f"/webhooks/{ENDPOINT_ID}/deliveries", 200, {"items": LOGGED, "next_cursor": "abc"}, {}),
        ("POST", f"/webhooks/{ENDPOINT_ID}/replay", 202, {"replayed": 1, "webhook_ids": ["msg_1"]}, {}),
        ("POST", f"/webhooks/{ENDPOINT_ID}/replay", 409, {"error": {"code": "endpoint_disabled", "message": "x"}}, {}),
    ],
)
def test_responses_the_spec_allows_pass(method, path, status, body, headers):
    validate_response(API, response(method, path, status, body, headers))


@pytest.mark.parametrize(
    "case, method, path, status, body, headers",
    [
        ("accepted without Location", "POST", "/images", 202, ACCEPTED, {}),
        ("an undocumented status", "GET", "/images", 418, {"items": [], "next_cursor": None}, {}),
        ("a storage location leaking out", "GET", f"/images/{IMAGE_ID}", 200, image(bucket="b", key="k"), {}),
        ("a status outside the enum", "GET", f"/images/{IMAGE_ID}", 200, image(status="DONE?"), {}),
        (
            "a code that does not fit the status",
            "GET",
            "/images",
            400,
            {"error": {"code": "not_found", "message": "x"}},
            {},
        ),
        ("an error without message", "GET", "/images/x", 404, {"error": {"code": "not_found"}}, {}),
        ("a page without next_cursor", "GET", "/images", 200, {"items": []}, {}),
        ("a list from GET / without next_cursor", "GET", "/", 200, {"items": []}, {}),
        (
            "a list from GET / leaking a storage location",
            "GET",
            "/",
            200,
            {"items": [image(key="k")], "next_cursor": None},
            {},
        ),
        ("an unknown route answering 200", "GET", "/nowhere", 200, {"message": "hello"}, {}),
        (
            "a delivery in a state outside the enum",
            "GET",
            f"/webhooks/{ENDPOINT_ID}/deliveries",
            200,
            {"items": [{**LOGGED[0], "status": "lost"}], "next_cursor": None},
            {},
        ),
    ],
)
def test_responses_that_break_the_spec_are_refused(case, method, path, status, body, headers):
    with pytest.raises(ContractViolation):
        validate_response(API, response(method, path, status, body, headers))


def test_a_body_of_the_wrong_content_type_is_refused():
    with pytest.raises(ContractViolation):
        validate_response(API, response("GET", f"/images/{IMAGE_ID}", 200, b"ok", content_type="text/plain"))
