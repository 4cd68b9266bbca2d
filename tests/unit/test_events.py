import json

import pytest

from lib.domain.errors import InvalidRequest
from lib.domain.events import FAILED, RECOGNIZED, CompletionEvent, parse_s3_notification
from tests.support.builders import s3_notification, s3_test_event, sns_envelope


@pytest.mark.parametrize("encode_slash", [False, True], ids=["aws-keeps-slash", "moto-encodes-slash"])
@pytest.mark.parametrize("wrap", [lambda m: m, sns_envelope], ids=["raw", "sns-envelope"])
def test_object_key_is_decoded_from_every_envelope(encode_slash, wrap):
    body = wrap(s3_notification("bucket", "images/a b+c.jpg", version_id="v1", encode_slash=encode_slash))
    [created] = parse_s3_notification(body)
    assert (created.bucket, created.key, created.version_id) == ("bucket", "images/a b+c.jpg", "v1")


def test_s3_test_event_announces_nothing():
    assert parse_s3_notification(s3_test_event("bucket")) == []
    assert parse_s3_notification(sns_envelope(s3_test_event("bucket"))) == []


def test_non_create_events_are_skipped():
    message = json.loads(s3_notification("bucket", "images/x.jpg"))
    message["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert parse_s3_notification(json.dumps(message)) == []


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", "{}", json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}), sns_envelope("not json")],
    ids=["not-json", "array", "no-records", "record-without-s3", "envelope-without-json"],
)
def test_malformed_notifications_are_domain_errors(body):
    with pytest.raises(InvalidRequest):
        parse_s3_notification(body)


def test_completion_event_round_trips_through_a_message_with_a_stable_id():
    event = CompletionEvent.for_image(RECOGNIZED, {"image_id": "abc", "status": "DONE"}, "alice")
    again = CompletionEvent.from_message(sns_envelope(event.to_message()))
    assert again == event
    assert again.id == CompletionEvent.for_image(RECOGNIZED, {"image_id": "abc"}, "alice").id


def test_a_completion_event_carries_its_images_owner_in_its_data():
    event = CompletionEvent.for_image(RECOGNIZED, {"image_id": "abc", "owner": "mallory"}, "alice")
    again = CompletionEvent.from_message(sns_envelope(event.to_message()))
    assert again.owner == "alice" and json.loads(again.webhook_body())["data"]["owner"] == "alice"


def test_webhook_body_has_type_timestamp_and_data_only():
    event = CompletionEvent.for_image(FAILED, {"image_id": "abc"}, "alice")
    assert set(json.loads(event.webhook_body())) == {"type", "timestamp", "data"}


@pytest.mark.parametrize(
    "message", ['{"id": "x", "type": "other", "timestamp": "t", "data": {}}', '{"type": "image.failed"}', "[]"]
)
def test_unknown_or_incomplete_completion_events_are_refused(message):
    with pytest.raises(InvalidRequest):
        CompletionEvent.from_message(message)
