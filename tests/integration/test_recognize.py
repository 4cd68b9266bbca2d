"""The recognize handler on moto: idempotency, rejected images, transient failures, partial batches."""

import json
import threading

import pytest
from botocore.exceptions import ClientError

from handlers import recognize
from lib.errors import TransientError
from lib.model import DONE, FAILED, PENDING, ImageRecord, new_image_id, utc_now
from lib.processing import RecognitionWorkflow
from lib.publisher import EventPublisher
from lib.recognition import Recognizer
from lib.repository import ImageRepository
from tests.support.builders import LambdaContext, s3_notification, s3_test_event, sns_envelope, sqs_event, sqs_record

pytestmark = pytest.mark.integration


class FakeRekognition:
    """Answers DetectLabels like Rekognition, or fails with a given error code."""

    def __init__(self, error_code=None):
        self.error_code = error_code
        self.calls = []

    def detect_labels(self, **kwargs):
        self.calls.append(kwargs)
        if self.error_code:
            raise ClientError({"Error": {"Code": self.error_code, "Message": "from the test"}}, "DetectLabels")
        return {
            "Labels": [
                {
                    "Name": "Cat",
                    "Confidence": 98.5,
                    "Parents": [{"Name": "Animal"}],
                    "Categories": [{"Name": "Animals and Pets"}],
                },
                {"Name": "Animal", "Confidence": 98.5, "Parents": [], "Categories": []},
            ],
            "ImageProperties": {
                "Quality": {"Brightness": 60.0, "Sharpness": 80.0, "Contrast": 70.0},
                "DominantColors": [],
            },
        }


@pytest.fixture
def world(aws):
    bucket = aws.ref("ImagesBucket")
    aws.drain("UploadsQueue")  # the S3 test event from provisioning
    repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))

    def workflow(rekognition):
        return RecognitionWorkflow(
            repository=repository,
            recognizer=Recognizer(frozenset({"labels", "properties"}), rekognition=lambda: rekognition),
            publisher=EventPublisher(aws.ref("ResultsTopic"), sns=lambda: aws.client("sns")),
        )

    def upload():
        image_id, now = new_image_id(), utc_now()
        record = ImageRecord(
            image_id, "cat.jpg", PENDING, now, now, bucket, f"images/{image_id}.jpg", "image/jpeg", 3, 1, 1
        )
        repository.create_pending(record)
        aws.client("s3").put_object(Bucket=bucket, Key=record.key, Body=b"abc")
        aws.drain("UploadsQueue")  # this test drives the handler itself
        return record

    class World:
        pass

    w = World()
    w.aws, w.bucket, w.repository, w.workflow, w.upload = aws, bucket, repository, workflow, upload
    w.events = lambda: [json.loads(m["Body"]) for m in aws.drain("IntegrationQueue")]
    return w


def run(event, workflow):
    """The handler's batch processing, with the workflow the test built."""
    from aws_lambda_powertools.utilities.batch import async_process_partial_response

    return async_process_partial_response(
        event=event,
        record_handler=lambda record: recognize.record_handler(record, workflow),
        processor=recognize.processor,
        context=LambdaContext(),
    )


def test_a_duplicate_s3_event_gives_one_record_and_one_completion_event(world):
    record = world.upload()
    rekognition = FakeRekognition()
    body = s3_notification(world.bucket, record.key, encode_slash=True)
    # GIVEN the same notification twice in one batch and once more in a later batch
    first = run(sqs_event(sqs_record(body), sqs_record(sns_envelope(body))), world.workflow(rekognition))
    second = run(sqs_event(sqs_record(body)), world.workflow(rekognition))
    # THEN one analysis, one result and one event
    assert first == {"batchItemFailures": []} and second == {"batchItemFailures": []}
    assert len(rekognition.calls) == 1
    stored = world.repository.get(record.image_id)
    assert stored.status == DONE and [label.name for label in stored.labels] == ["Cat", "Animal"]
    events = world.events()
    assert [(e["type"], e["data"]["image_id"]) for e in events] == [("image.recognized", record.image_id)]
    assert events[0]["id"] == f"msg_{record.image_id}"


def test_an_event_lost_after_the_write_is_published_by_the_next_delivery(world):
    record = world.upload()
    body = s3_notification(world.bucket, record.key)

    class LosingPublisher(EventPublisher):
        def publish(self, event):
            raise TransientError("SNS is down")

    broken = world.workflow(FakeRekognition())
    broken.publisher = LosingPublisher("arn")
    failed = run(sqs_event(message := sqs_record(body)), broken)
    assert failed == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert world.repository.get(record.image_id).status == DONE and world.events() == []

    rekognition = FakeRekognition()
    assert run(sqs_event(sqs_record(body, receive_count=2)), world.workflow(rekognition)) == {"batchItemFailures": []}
    assert rekognition.calls == []  # the stored result is announced, not recomputed
    assert [e["type"] for e in world.events()] == ["image.recognized"]


@pytest.mark.parametrize("code", ["InvalidImageFormatException", "ImageTooLargeException", "InvalidS3ObjectException"])
def test_an_image_rekognition_rejects_is_marked_failed_with_a_reason(world, code):
    record = world.upload()
    response = run(
        sqs_event(sqs_record(s3_notification(world.bucket, record.key))), world.workflow(FakeRekognition(code))
    )
    assert response == {"batchItemFailures": []}
    stored = world.repository.get(record.image_id)
    assert stored.status == FAILED and code in stored.failure.message
    [event] = world.events()
    assert event["type"] == "image.failed" and event["data"]["error"]["code"] == "invalid_image"


@pytest.mark.parametrize(
    "code", ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"]
)
def test_a_transient_rekognition_error_fails_only_that_record(world, code):
    bad, good = world.upload(), world.upload()
    throttled = FakeRekognition(code)
    fine = FakeRekognition()

    class PerKey:
        def detect_labels(self, **kwargs):
            source = throttled if kwargs["Image"]["S3Object"]["Name"] == bad.key else fine
            return source.detect_labels(**kwargs)

    bad_message = sqs_record(s3_notification(world.bucket, bad.key))
    response = run(
        sqs_event(bad_message, sqs_record(s3_notification(world.bucket, good.key))), world.workflow(PerKey())
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": bad_message["messageId"]}]}
    assert world.repository.get(bad.image_id).status == PENDING
    assert world.repository.get(good.image_id).status == DONE


def test_test_events_and_foreign_objects_are_acknowledged_without_work(world):
    rekognition = FakeRekognition()
    response = run(
        sqs_event(
            sqs_record(s3_test_event(world.bucket)),
            sqs_record(s3_notification(world.bucket, "images/not-an-id.jpg")),
            sqs_record(s3_notification(world.bucket, f"images/{new_image_id()}.jpg")),  # no record
        ),
        world.workflow(rekognition),
    )
    assert response == {"batchItemFailures": []} and rekognition.calls == []


def test_an_unparsable_message_is_reported_as_a_failed_item_for_the_dead_letter_queue(world):
    message = sqs_record("this is not an S3 event")
    response = run(sqs_event(message), world.workflow(FakeRekognition()))
    assert response == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}


def test_the_records_of_a_batch_are_recognized_concurrently(world):
    images = [world.upload() for _ in range(3)]
    # Each call waits until all three are in flight: one at a time, the barrier would break.
    barrier = threading.Barrier(len(images), timeout=10)
    inner = FakeRekognition()

    class WaitsForTheOthers:
        def detect_labels(self, **kwargs):
            barrier.wait()
            return inner.detect_labels(**kwargs)

    records = [sqs_record(s3_notification(world.bucket, image.key)) for image in images]
    assert run(sqs_event(*records), world.workflow(WaitsForTheOthers())) == {"batchItemFailures": []}
    assert all(world.repository.get(image.image_id).status == DONE for image in images)
