"""Identical images recognized once per owner, on moto: the real repository, content entries, the
recognize handler's re-queue of a waiting image, and two owners sending the same bytes."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from lib.adapters.publisher import EventPublisher
from lib.adapters.rekognition_client import RekognitionRecognizer
from lib.adapters.repository import ImageRepository
from lib.adapters.requeue import WAIT_DELAY_SECONDS, Requeuer
from lib.adapters.storage import ImageStore
from lib.domain.content import RecognitionSettings
from lib.domain.image_checks import ImageLimits
from lib.domain.model import DONE, PENDING
from lib.throttling import Backoff
from lib.usecases.ingest import IngestService
from lib.usecases.recognize_image import RecognitionWorkflow
from lib.usecases.reuse import ResultReuse
from local.paths import FIXTURES_DIR
from tests.integration.test_recognize import FakeRekognition, run
from tests.support.builders import s3_notification, sqs_event, sqs_record
from tests.support.fakes import FakeFetcher

PHOTO = (FIXTURES_DIR / "chelsea.jpg").read_bytes()
SETTINGS = RecognitionSettings(frozenset({"labels", "properties"}), 20, 55, "1")


class FailsFirst(FakeRekognition):
    """Answers like Rekognition after failing its first call with a transient error."""

    def detect_labels(self, **kwargs):
        if not self.calls:
            self.calls.append(kwargs)
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "from the test"}}, "DetectLabels")
        return super().detect_labels(**kwargs)


class RecordingSqs:
    def __init__(self):
        self.sent = []

    def send_message(self, **kwargs):
        self.sent.append(kwargs)


@pytest.fixture
def world(aws):
    bucket = aws.ref("ImagesBucket")
    repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))
    ingest = IngestService(
        FakeFetcher({"https://example.test/cat.jpg": PHOTO}),
        ImageStore(bucket, s3=lambda: aws.client("s3")),
        repository,
        ImageLimits(),
    )
    sqs = RecordingSqs()

    class World:
        rekognition = FakeRekognition()
        requeued = sqs.sent

        def workflow(self):
            return RecognitionWorkflow(
                repository=repository,
                recognizer=RekognitionRecognizer(
                    SETTINGS.features, rekognition=lambda: self.rekognition, backoff=Backoff(budget_seconds=0)
                ),
                publisher=EventPublisher(aws.ref("ResultsTopic"), sns=lambda: aws.client("sns")),
                reuse=ResultReuse(repository.content_index(), repository, SETTINGS, max_wait_seconds=120),
            )

        def recognize(self, record, attributes=None):
            message = sqs_record(s3_notification(bucket, record.key))
            message["messageAttributes"] = attributes or {}
            return run(sqs_event(message), self.workflow(), Requeuer("queue-url", sqs=lambda: sqs))

        def events(self):
            return {(event := json.loads(m["Body"]))["data"]["image_id"]: event for m in aws.drain("IntegrationQueue")}

    w = World()
    w.aws, w.repository, w.ingest = aws, repository, ingest
    aws.drain("UploadsQueue")
    return w


def test_two_owners_sending_the_same_bytes_never_reuse_each_others_result(world):
    # GIVEN alice's image of some bytes, recognized
    alice_first = world.ingest.ingest_bytes(PHOTO, "mine", "alice")
    world.recognize(alice_first)
    # WHEN bob sends the same bytes, by URL, and then alice sends them again
    bob = world.ingest.ingest_url("https://example.test/cat.jpg", "mine too", "bob")
    world.recognize(bob)
    alice_again = world.ingest.ingest_bytes(PHOTO, "again", "alice")
    world.recognize(alice_again)
    # THEN bob's image was recognized itself, and only alice's second copy reused alice's first
    assert len(world.rekognition.calls) == 2
    records = {r.image_id: world.repository.get(r.image_id) for r in (alice_first, bob, alice_again)}
    assert {r.content_sha256 for r in records.values()} == {alice_first.content_sha256}
    assert records[bob.image_id].status == DONE and records[bob.image_id].reused_from is None
    assert records[alice_again.image_id].reused_from == alice_first.image_id
    assert records[alice_again.image_id].labels == records[alice_first.image_id].labels
    # AND each image was announced once, to its own owner, the copy saying which image it reused
    events = world.events()
    assert {image_id: e["data"]["owner"] for image_id, e in events.items()} == {
        alice_first.image_id: "alice",
        bob.image_id: "bob",
        alice_again.image_id: "alice",
    }
    assert events[alice_again.image_id]["data"]["reused_from"] == alice_first.image_id


def test_a_duplicate_is_requeued_while_the_first_is_pending_then_reuses_its_result_unless_its_wait_ran_out(world):
    # GIVEN the first image claimed its bytes, but its recognition failed for now
    world.rekognition = FailsFirst()
    first = world.ingest.ingest_bytes(PHOTO, "first", "alice")
    assert world.recognize(first)["batchItemFailures"]
    second = world.ingest.ingest_bytes(PHOTO, "second", "alice")
    # WHEN the duplicate is processed
    began = time.time()
    assert world.recognize(second) == {"batchItemFailures": []}
    # THEN it is re-queued with a short delay and the time its wait began, and nothing was recognized
    [copy] = world.requeued
    assert WAIT_DELAY_SECONDS[0] <= copy["DelaySeconds"] <= WAIT_DELAY_SECONDS[1]
    since = float(copy["MessageAttributes"]["waiting-since"]["StringValue"])
    assert began - 1 <= since <= time.time()
    assert len(world.rekognition.calls) == 1 and world.repository.get(second.image_id).status == PENDING
    # AND a duplicate whose wait has run out is recognized itself, without waiting any longer
    third = world.ingest.ingest_bytes(PHOTO, "third", "alice")
    assert world.recognize(third, {"waiting-since": {"stringValue": f"{time.time() - 121:.3f}"}}) == {
        "batchItemFailures": []
    }
    assert len(world.requeued) == 1 and len(world.rekognition.calls) == 2
    assert (
        world.repository.get(third.image_id).status == DONE and world.repository.get(third.image_id).reused_from is None
    )
    # AND once the first is done, the copy coming back reuses its result
    world.recognize(first)
    attributes = {"waiting-since": {"stringValue": copy["MessageAttributes"]["waiting-since"]["StringValue"]}}
    assert world.recognize(second, attributes) == {"batchItemFailures": []}
    assert world.repository.get(second.image_id).reused_from == first.image_id
    assert len(world.rekognition.calls) == 3  # the failed call, the third's and the first's recognition


def test_forget_content_removes_a_deleted_images_entry_and_nothing_else(world):
    # GIVEN alice's first image and a copy that reused it
    first = world.ingest.ingest_bytes(PHOTO, "first", "alice")
    world.recognize(first)
    copy = world.ingest.ingest_bytes(PHOTO, "copy", "alice")
    world.recognize(copy)
    table, dynamodb = world.aws.ref("ImagesTable"), world.aws.client("dynamodb")

    def entries():
        pk = f"HASH#alice#{first.content_sha256}"
        found = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )["Items"]
        return [item["image_id"]["S"] for item in found]

    assert entries() == [first.image_id]
    # WHEN the copy is deleted, the first's entry stays; when the first is deleted, it goes
    world.repository.forget_content(world.repository.get(copy.image_id))
    assert entries() == [first.image_id]
    world.repository.forget_content(world.repository.get(first.image_id))
    assert entries() == []
    # THEN the next upload of those bytes is recognized, not answered with the deleted image's labels
    world.recognize(later := world.ingest.ingest_bytes(PHOTO, "later", "alice"))
    assert world.repository.get(later.image_id).reused_from is None and len(world.rekognition.calls) == 2
