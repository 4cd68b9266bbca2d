"""DELETE /images/{id} on moto: everything of the image goes, for good, and nothing in flight brings it back."""

from __future__ import annotations

import json
import threading

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from handlers import delete, results
from lib.adapters.publisher import EventPublisher
from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.domain import webhooks
from lib.domain.content import ContentKey, RecognitionSettings, content_sha256
from lib.domain.events import CompletionEvent, ObjectCreated
from lib.domain.model import DELETED, DONE, Label, UploadSlot, new_image_id, utc_now
from lib.ports import Recognition, Reply
from lib.usecases.deletion import ImageDeletion
from lib.usecases.delivery import DELIVERED, SKIPPED, DeliveryPolicy, WebhookDelivery
from lib.usecases.recognize_image import RecognitionWorkflow
from tests.support.builders import http_event, image_record
from tests.support.fakes import FakeWebhookSender

ALICE, BOB = {"sub": "alice-sub"}, {"sub": "bob-sub"}


@pytest.fixture
def world(aws):
    aws.drain("UploadsQueue")  # the S3 test event from provisioning

    class World:
        bucket = aws.ref("ImagesBucket")
        table = aws.ref("ImagesTable")
        s3 = aws.client("s3")
        dynamodb = aws.client("dynamodb")
        repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))
        store = ImageStore(aws.ref("ImagesBucket"), s3=lambda: aws.client("s3"), signer=lambda: aws.client("s3"))
        publisher = EventPublisher(aws.ref("ResultsTopic"), sns=lambda: aws.client("sns"))

        def image(self, claims=ALICE, labels=("Cat", "Animal"), status=DONE):
            record = image_record(owner=claims["sub"], bucket=self.bucket, name=f"{claims['sub']}-photo")
            self.repository.create_pending(record)
            self.s3.put_object(Bucket=self.bucket, Key=record.key, Body=b"jpeg")
            if status == DONE:
                self.repository.complete(record, DONE, labels=[Label(name, 90.0) for name in labels])
            return record

        def delete(self, claims, image_id):
            event = http_event("DELETE", f"/images/{image_id}", claims=claims, path_parameters={"id": image_id})
            deletion = ImageDeletion(self.repository, self.store, self.publisher)
            return delete.handle(APIGatewayProxyEventV2(event), deletion)

        def get(self, claims, image_id):
            event = http_event("GET", f"/images/{image_id}", claims=claims, path_parameters={"id": image_id})
            return results.handle(APIGatewayProxyEventV2(event), self.repository, self.store)

        def items(self, image_id):
            return self.dynamodb.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"IMAGE#{image_id}"}},
            )["Items"]

        def versions(self, image_id):
            listed = self.s3.list_object_versions(Bucket=self.bucket, Prefix=f"images/{image_id}")
            listed_uploads = self.s3.list_object_versions(Bucket=self.bucket, Prefix=f"uploads/{image_id}")
            return [
                v["Key"]
                for page in (listed, listed_uploads)
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]

        def events(self):
            return [json.loads(m["Body"]) for m in aws.drain("IntegrationQueue")]

    return World()


def test_a_delete_removes_the_objects_record_labels_and_listing_and_announces_it(world):
    record = world.image()
    world.events()
    # WHEN its owner deletes it
    response = world.delete(ALICE, record.image_id)
    # THEN 204, then the image reads as missing everywhere
    assert (response["statusCode"], response["body"]) == (204, "")
    assert world.get(ALICE, record.image_id)["statusCode"] == 404
    assert world.repository.list_recent("alice-sub", 10).records == []
    assert world.repository.list_by_label("alice-sub", "cat", 10).records == []
    assert world.versions(record.image_id) == []
    # only the tombstone stays: no label items, no index keys, a TTL
    (tombstone,) = world.items(record.image_id)
    assert tombstone["status"]["S"] == DELETED and "ttl" in tombstone
    assert "listing" not in tombstone and "label" not in tombstone
    # and image.deleted is published, with its owner
    (event,) = world.events()
    assert (event["type"], event["data"]["image_id"], event["data"]["owner"]) == (
        "image.deleted",
        record.image_id,
        "alice-sub",
    )


def test_a_second_delete_answers_as_a_missing_image(world):
    record = world.image()
    assert world.delete(ALICE, record.image_id)["statusCode"] == 204
    again = world.delete(ALICE, record.image_id)
    missing = world.delete(ALICE, new_image_id())
    assert again["statusCode"] == 404 and json.loads(again["body"]) == json.loads(missing["body"])


def test_another_owners_delete_answers_as_a_missing_image_and_changes_nothing(world):
    record = world.image()
    response = world.delete(BOB, record.image_id)
    missing = world.delete(BOB, new_image_id())
    assert (response["statusCode"], response["body"]) == (missing["statusCode"], missing["body"])
    assert response["statusCode"] == 404
    assert world.repository.get_owned(record.image_id, "alice-sub") is not None
    assert world.versions(record.image_id) == [record.key]


def test_on_a_versioned_bucket_every_version_and_delete_marker_goes(world):
    world.s3.put_bucket_versioning(Bucket=world.bucket, VersioningConfiguration={"Status": "Enabled"})
    record = world.image()
    world.s3.put_object(Bucket=world.bucket, Key=record.key, Body=b"second version")
    world.s3.delete_object(Bucket=world.bucket, Key=record.key)  # a delete marker
    world.s3.put_object(Bucket=world.bucket, Key=record.key, Body=b"third version")
    assert len(world.versions(record.image_id)) == 4
    assert world.delete(ALICE, record.image_id)["statusCode"] == 204
    assert world.versions(record.image_id) == []


def test_an_upload_slot_is_deleted_and_an_object_sent_to_it_later_is_refused(world):
    from lib.domain.image_checks import ImageLimits
    from lib.usecases.arrivals import UploadArrivals
    from tests.support.hostile_images import noise_png

    slot = UploadSlot(new_image_id(), "big.png", "image/png", utc_now(), 2**31 - 1, owner="alice-sub")
    world.repository.create_slot(slot)
    assert world.delete(BOB, slot.image_id)["statusCode"] == 404
    assert world.delete(ALICE, slot.image_id)["statusCode"] == 204
    assert world.get(ALICE, slot.image_id)["statusCode"] == 404
    # The presigned POST still works until it expires: what it sends is refused and removed.
    key = f"uploads/{slot.image_id}.png"
    etag = world.s3.put_object(Bucket=world.bucket, Key=key, Body=noise_png(16))["ETag"].strip('"')
    arrivals = UploadArrivals(
        world.repository, ImageLimits(max_bytes=10**6), announce=None, store_for=lambda _: world.store
    )
    assert arrivals.process(ObjectCreated(world.bucket, key, None, 100, etag)).result == "refused"
    assert world.versions(slot.image_id) == []
    assert world.get(ALICE, slot.image_id)["statusCode"] == 404


class GatedRecognizer:
    """A Rekognition that is slow on purpose: it answers once the test opens the gate."""

    def __init__(self):
        self.analysing, self.gate = threading.Event(), threading.Event()

    def recognize(self, bucket, key, version_id=None):
        self.analysing.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return Recognition([Label("Cat", 97.0), Label("Animal", 96.0)])


def test_a_delete_while_recognition_is_analysing_leaves_nothing_and_announces_only_the_deletion(world):
    # GIVEN an image that recognition is analysing
    record = world.image(status="PENDING")
    world.events()
    recognizer = GatedRecognizer()
    workflow = RecognitionWorkflow(world.repository, recognizer, world.publisher)
    outcome = {}
    obj = ObjectCreated(world.bucket, record.key, None, 4)
    worker = threading.Thread(target=lambda: outcome.update(result=workflow.process(obj).result))
    worker.start()
    assert recognizer.analysing.wait(10)
    # WHEN its owner deletes it, and only then does the analysis answer
    assert world.delete(ALICE, record.image_id)["statusCode"] == 204
    recognizer.gate.set()
    worker.join(10)
    # THEN the recognition wrote nothing that stays, and announced nothing
    assert outcome["result"] == "duplicate"
    assert [item["sk"]["S"] for item in world.items(record.image_id)] == ["IMAGE"]
    assert world.repository.get(record.image_id).status == DELETED
    assert world.versions(record.image_id) == []
    assert world.repository.list_by_label("alice-sub", "cat", 10).records == []
    events = world.events()
    assert [event["type"] for event in events] == ["image.deleted"]


def test_events_already_queued_when_the_image_is_deleted_are_dropped_but_the_deletion_is_delivered(world):
    # GIVEN an image recognized and announced, its event still waiting for delivery
    record = world.image()
    recognized = CompletionEvent.for_image(
        "image.recognized", world.repository.get(record.image_id).to_api(), "alice-sub"
    )
    # WHEN it is deleted before the event is delivered
    assert world.delete(ALICE, record.image_id)["statusCode"] == 204
    (deleted,) = [CompletionEvent.from_message(json.dumps(event)) for event in world.events()]
    sender = FakeWebhookSender(Reply(200))
    policy = DeliveryPolicy("https://receiver.example/hook", 5, 10, 900)
    delivery = WebhookDelivery(policy, webhooks.generate_secret, world.repository, sender)
    # THEN the result is dropped, and only the deletion reaches the receiver, once
    assert delivery.deliver(recognized, 1).action == SKIPPED
    assert delivery.deliver(deleted, 1).action == DELIVERED
    assert delivery.deliver(deleted, 2).action == SKIPPED
    assert [json.loads(post.body)["type"] for post in sender.posts] == ["image.deleted"]


def test_an_object_that_arrives_for_an_image_deleted_meanwhile_is_removed_by_recognition(world):
    # GIVEN an admitted upload whose image is deleted before its copy under images/ is written
    record = world.image(status="PENDING")
    world.s3.delete_object(Bucket=world.bucket, Key=record.key)
    assert world.delete(ALICE, record.image_id)["statusCode"] == 204
    world.s3.put_object(Bucket=world.bucket, Key=record.key, Body=b"late copy")
    # WHEN recognition gets that object's event
    recognizer = GatedRecognizer()
    workflow = RecognitionWorkflow(
        world.repository, recognizer, world.publisher, discard=lambda bucket, key: world.store.delete(key)
    )
    outcome = workflow.process(ObjectCreated(world.bucket, record.key, None, 9))
    # THEN it removes the object without analysing it
    assert outcome.result == "discarded" and not recognizer.analysing.is_set()
    assert world.versions(record.image_id) == []


def test_a_deleted_images_content_entry_goes_with_it_so_its_result_is_never_reused(world):
    # GIVEN an image whose bytes claimed the content entry that later identical uploads reuse
    record = world.image()
    sha = content_sha256(b"jpeg")
    settings = RecognitionSettings(frozenset({"labels"}), 20, 55, "1")
    key = ContentKey("alice-sub", sha, settings)
    world.repository.content_index().claim(key, record.image_id)
    world.dynamodb.update_item(
        TableName=world.table,
        Key={"pk": {"S": f"IMAGE#{record.image_id}"}, "sk": {"S": "IMAGE"}},
        UpdateExpression="SET content_sha256 = :sha",
        ExpressionAttributeValues={":sha": {"S": sha}},
    )
    # WHEN its owner deletes it
    assert world.delete(ALICE, record.image_id)["statusCode"] == 204
    # THEN no entry of those bytes names it any more
    entries = world.dynamodb.query(
        TableName=world.table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": key.partition}},
    )["Items"]
    assert [item for item in entries if item["image_id"]["S"] == record.image_id] == []
