"""The whole flow on the local stack: upload, recognition, result, webhook; and each failure path."""

import json
import urllib.parse

import pytest

from tests.support.builders import s3_notification
from tests.support.e2e_stack import skip_on_ministack, unique_name
from tests.support.waiting import wait_until

FIXTURES = "tests/fixtures"


def read_fixture(name: str) -> bytes:
    with open(f"{FIXTURES}/{name}", "rb") as f:
        return f.read()


def test_upload_by_url_gives_a_done_result_and_one_signed_webhook(stack):
    response = stack.upload_url("chelsea.jpg", name="chelsea.jpg")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "PENDING" and accepted["links"]["self"] == f"/images/{accepted['image_id']}"

    result = stack.wait_final(accepted["image_id"])
    assert result["status"] == "DONE" and result["labels"], result
    assert result["source"]["type"] == "url" and (result["width"], result["height"]) > (0, 0)

    [delivery] = wait_until(lambda: stack.deliveries_for(accepted["image_id"]), 30, "the webhook")
    assert delivery.verified and delivery.event_type == "image.recognized"
    assert delivery.webhook_id == f"msg_{accepted['image_id']}"
    assert delivery.body["data"]["labels"] == result["labels"]


@pytest.mark.parametrize("fixture, content_type", [("coffee.jpg", "image/jpeg"), ("sign.png", "image/png")])
def test_upload_of_the_image_bytes_themselves(stack, fixture, content_type):
    response = stack.http.post(
        f"{stack.api}/images?name={fixture}",
        data=read_fixture(fixture),
        headers={"content-type": content_type},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    result = stack.wait_final(response.json()["image_id"])
    assert result["status"] == "DONE" and result["content_type"] == content_type
    assert result["source"] == {"type": "upload"}


def test_upload_by_json_body(stack):
    response = stack.http.post(
        f"{stack.api}/images", json={"url": f"{stack.fixtures}/rocket.jpg", "name": "rocket"}, timeout=30
    )
    assert response.status_code == 202, response.text
    assert stack.wait_final(response.json()["image_id"])["name"] == "rocket"


def test_a_duplicate_s3_event_gives_one_record_and_one_webhook(stack):
    image_id = stack.upload_url("chelsea.jpg").json()["image_id"]
    result = stack.wait_final(image_id)
    wait_until(lambda: stack.deliveries_for(image_id), 30, "the first webhook")
    stack.wait_drained()

    # WHEN S3 delivers the same notification again, twice, through the real queue
    key = f"images/{image_id}.jpg"
    sqs = stack.session.client("sqs")
    for _ in range(2):
        sqs.send_message(
            QueueUrl=stack.stack.physical("UploadsQueue"),
            MessageBody=s3_notification(stack.bucket, key, encode_slash=True),
        )
    stack.wait_drained()

    # THEN there is still one image record, one set of labels, and one webhook
    items = stack.items_of(image_id)
    assert [i["sk"]["S"] for i in items].count("IMAGE") == 1
    assert len([i for i in items if i["sk"]["S"].startswith("LABEL#")]) == len(result["labels"])
    assert stack.image(image_id) == result
    assert len(stack.deliveries_for(image_id)) == 1


def test_a_receiver_that_recovers_gets_the_delivery_after_retries(stack):
    name = unique_name("recovers")
    stack.inbox.answer_next(500, times=2, image_name=name)
    image_id = stack.upload_url("coffee.jpg", name=name).json()["image_id"]
    deliveries = wait_until(
        lambda: [d for d in stack.deliveries_for(image_id) if d.status == 204] and stack.deliveries_for(image_id),
        60,
        "a successful delivery after two 500s",
    )
    assert [d.status for d in deliveries] == [500, 500, 204]
    assert len({d.webhook_id for d in deliveries}) == 1  # the same webhook-id on every try
    stack.wait_drained()
    assert not [m for m in stack.dead_letters("IntegrationDeadLetterQueue") if image_id in m["Body"]]


def test_a_receiver_answering_500_every_time_gets_every_retry_then_the_event_is_dead_lettered(stack):
    name = unique_name("always-500")
    stack.inbox.answer_next(500, times=50, image_name=name)
    image_id = stack.upload_url("coffee.jpg", name=name).json()["image_id"]
    dead = wait_until(
        lambda: [m for m in stack.dead_letters("IntegrationDeadLetterQueue") if image_id in m["Body"]],
        90,
        "the event in the integration dead-letter queue",
    )
    assert json.loads(dead[0]["Body"])["id"] == f"msg_{image_id}"
    attempts = [d.status for d in stack.deliveries_for(image_id)]
    assert attempts == [500] * 8  # maxReceiveCount of IntegrationQueue in serverless.yml
    stack.inbox.clear()


def test_a_410_goes_to_the_dead_letter_queue_without_retry(stack):
    name = unique_name("gone")
    stack.inbox.answer_next(410, image_name=name)
    image_id = stack.upload_url("coffee.jpg", name=name).json()["image_id"]
    dead = wait_until(
        lambda: [m for m in stack.dead_letters("IntegrationDeadLetterQueue") if image_id in m["Body"]],
        60,
        "the event in the integration dead-letter queue",
    )
    assert "410" in dead[0]["MessageAttributes"]["failure_reason"]["StringValue"]
    stack.wait_drained()
    assert [d.status for d in stack.deliveries_for(image_id)] == [410]


def test_listing_pages_newest_first_and_filters_by_label(stack):
    ids = [stack.upload_url("chelsea.jpg").json()["image_id"] for _ in range(3)]
    results = [stack.wait_final(i) for i in ids]
    label = results[0]["labels"][0]["name"]

    first = stack.http.get(f"{stack.api}/images", params={"limit": 2}, timeout=10).json()
    second = stack.http.get(
        f"{stack.api}/images", params={"limit": 2, "cursor": first["next_cursor"]}, timeout=10
    ).json()
    listed = [item["image_id"] for item in first["items"] + second["items"]]
    assert listed[:3] == list(reversed(ids))
    created = [item["created_at"] for item in first["items"] + second["items"]]
    assert created == sorted(created, reverse=True)

    labelled = stack.http.get(f"{stack.api}/images", params={"label": label.upper(), "limit": 100}, timeout=10).json()
    labelled_ids = [item["image_id"] for item in labelled["items"]]
    assert labelled_ids[:3] == list(reversed(ids))
    assert all(label in [lbl["name"] for lbl in item["labels"]] for item in labelled["items"])


@pytest.mark.parametrize(
    "query, status, code",
    [
        ({"limit": "0"}, 400, "invalid_request"),
        ({"limit": "abc"}, 400, "invalid_request"),
        ({"limit": "101"}, 400, "invalid_request"),
        ({"cursor": "not-a-cursor"}, 400, "invalid_request"),
        ({"label": ""}, 400, "invalid_request"),
        ({"label": "x" * 101}, 400, "invalid_request"),
    ],
)
def test_bad_listing_parameters_are_client_errors(stack, query, status, code):
    response = stack.http.get(f"{stack.api}/images?" + urllib.parse.urlencode(query), timeout=10)
    assert response.status_code == status and response.json()["error"]["code"] == code


@pytest.mark.parametrize("image_id", ["0" * 32, "not-an-id", "../../etc/passwd"])
def test_an_unknown_image_is_404(stack, image_id):
    if "/" in image_id:
        skip_on_ministack(
            stack,
            "it decodes %2F before routing, so /images/{id} does not match and it answers "
            "its own 404 without our error body (gap 'encoded slash in a path parameter')",
        )
    response = stack.http.get(f"{stack.api}/images/{urllib.parse.quote(image_id, safe='')}", timeout=10)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
