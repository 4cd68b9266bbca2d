"""The upload handler's reading of a JSON body: each refusal names what is wrong with the url."""

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers import upload
from tests.support.builders import http_event


class NoIngest:
    """Every case here is refused before the service is asked for anything."""

    def ingest_url(self, url, name):
        raise AssertionError(f"ingest_url({url!r}) was called")

    def ingest_bytes(self, data, name):
        raise AssertionError("ingest_bytes was called")


def post_json(payload: object) -> tuple[int, dict]:
    event = http_event("POST", "/images", headers={"content-type": "application/json"}, body=json.dumps(payload))
    response = upload.handle(APIGatewayProxyEventV2(event), NoIngest())
    return response["statusCode"], json.loads(response["body"])["error"]


@pytest.mark.parametrize(
    ("url", "named"),
    [(5, "a number"), (True, "a boolean"), ({"href": "x"}, "an object"), (["http://a/b.jpg"], "an array")],
)
def test_a_url_that_is_not_a_string_is_refused_as_such(url, named):
    status, error = post_json({"url": url, "name": "x"})
    assert (status, error["code"]) == (400, "invalid_request")
    assert error["message"] == f"url must be a string, not {named}"


@pytest.mark.parametrize("payload", [{"name": "x"}, {"url": None}, {"url": ""}, {"url": "   "}])
def test_a_missing_or_empty_url_is_required(payload):
    status, error = post_json(payload)
    assert (status, error["message"]) == (400, "url is required")
