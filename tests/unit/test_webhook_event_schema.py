"""The webhook bodies the system sends are what docs/openapi.yaml's `webhooks` section says they are."""

import json

import jsonschema
import pytest
import yaml

from lib.domain.events import FAILED, RECOGNIZED, CompletionEvent
from local.paths import PROJECT_ROOT
from tests.support.builders import image_record

COMPONENTS = yaml.safe_load((PROJECT_ROOT / "docs" / "openapi.yaml").read_text())["components"]


def validator(schema_name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": COMPONENTS})


@pytest.mark.parametrize("event_type", [RECOGNIZED, FAILED])
def test_a_completion_webhook_with_its_owner_matches_the_spec(event_type):
    record = image_record(owner="alice-sub")
    event = CompletionEvent.for_image(event_type, record.to_api(), record.owner)
    validator("WebhookEvent").validate(json.loads(event.webhook_body()))


def test_the_spec_still_refuses_a_field_it_does_not_name():
    record = image_record(owner="alice-sub")
    body = json.loads(CompletionEvent.for_image(RECOGNIZED, record.to_api(), record.owner).webhook_body())
    body["data"]["bucket"] = "internal"
    assert list(validator("WebhookEvent").iter_errors(body))
