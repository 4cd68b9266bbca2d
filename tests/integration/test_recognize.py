"""The recognize handler on moto: idempotency, rejected images, transient failures, partial batches."""

import json
import threading

import pytest
from botocore.exceptions import ClientError

from handlers import recognize
from lib.adapters.publisher import EventPublisher
from lib.adapters.rekognition_client import RekognitionRecognizer
from lib.adapters.repository import ImageRepository
from lib.adapters.requeue import Requeuer
from lib.domain.errors import TransientError
from lib.domain.model import DONE, FAILED, PENDING, new_image_id
from lib.throttling import Backoff
from lib.usecases.recognize_image import RecognitionWorkflow
from local.functions.pollers import messages_to_delete
from local.functions.pollers import sqs_event as lambda_event
from tests.support.builders import (
    LambdaContext,
    image_record,
    s3_notification,
    s3_test_event,
    sns_envelope,
    sqs_event,
    sqs_record,
)


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
            # No backoff inside the invocation: a throttle goes straight to the re-queue path.
            recognizer=RekognitionRecognizer(
                frozenset({"labels", "properties"}), rekognition=lambda: rekognition, backoff=Backoff(budget_seconds=0)
            ),
            publisher=EventPublisher(aws.ref("ResultsTopic"), sns=lambda: aws.client("sns")),
        )

    def upload():
        record = image_record(bucket=bucket)
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


def run(event, workflow, requeuer=None):
    """The handler's batch processing, with the workflow the test built."""
    from aws_lambda_powertools.utilities.batch import async_process_partial_response

    return async_process_partial_response(
        event=event,
        record_handler=lambda record: recognize.record_handler(record, workflow, requeuer=requeuer),
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


@pytest.mark.parametrize("code", ["InternalServerError", "ServiceUnavailableException"])
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


def _lock_of(key: str) -> int:
    return hash(key) % len(recognize._KEY_LOCKS)


def test_the_records_of_a_batch_are_recognized_concurrently(world):
    # Duplicates of one object run in turn under a lock chosen by the key's hash: take three images
    # whose keys fall on different locks, or two of them would rightly wait for each other.
    images: list = []
    while len(images) < 3:
        image = world.upload()
        if _lock_of(image.key) not in {_lock_of(other.key) for other in images}:
            images.append(image)
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


class ThrottlesFirst(FakeRekognition):
    """Answers ProvisionedThroughputExceededException the first `times` calls, then labels."""

    def __init__(self, times):
        super().__init__()
        self.remaining = times

    def detect_labels(self, **kwargs):
        if self.remaining > 0:
            self.remaining -= 1
            self.calls.append(kwargs)
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Provisioned rate exceeded"}},
                "DetectLabels",
            )
        return super().detect_labels(**kwargs)


def poll_once(world, workflow, requeuer):
    """One receive from the uploads queue and one invocation, with the event source mapping's deletes."""
    sqs, url = world.aws.client("sqs"), world.aws.ref("UploadsQueue")
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return 0
    result = run(lambda_event(messages, world.aws.arn("UploadsQueue"), "us-east-1"), workflow, requeuer)
    for message in messages_to_delete(messages, result, report_batch_item_failures=True):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    if len(messages_to_delete(messages, result, report_batch_item_failures=True)) < len(messages):
        # A failed record: make it visible again at once, as if its visibility timeout had passed.
        for message in messages:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return len(messages)


def test_a_record_throttled_more_times_than_max_receive_count_ends_done_not_in_the_dlq(world):
    record = world.upload()
    sqs = world.aws.client("sqs")
    sqs.send_message(QueueUrl=world.aws.ref("UploadsQueue"), MessageBody=s3_notification(world.bucket, record.key))
    max_receive = 5  # the UploadsQueue redrive policy in serverless.yml
    rekognition = ThrottlesFirst(times=max_receive + 3)
    requeuer = Requeuer(world.aws.ref("UploadsQueue"), sqs=lambda: sqs, delay_base_seconds=0)
    workflow = world.workflow(rekognition)
    # WHEN the queue is polled until the image is finished (each poll is one invocation)
    for _ in range(3 * max_receive):
        poll_once(world, workflow, requeuer)
        if world.repository.get(record.image_id).status != PENDING:
            break
    # THEN it was throttled more often than the redrive allows, yet it is DONE and nothing is dead-lettered
    assert len(rekognition.calls) == max_receive + 4
    assert world.repository.get(record.image_id).status == DONE
    assert world.aws.drain("UploadsDeadLetterQueue") == []
    assert world.aws.drain("UploadsQueue") == []
    assert [e["type"] for e in world.events()] == ["image.recognized"]


def test_a_throttled_record_is_requeued_with_a_growing_delay_and_acknowledged(world):
    record = world.upload()
    sent = []

    class RecordingSqs:
        def send_message(self, **kwargs):
            sent.append(kwargs)

    requeuer = Requeuer("queue-url", sqs=lambda: RecordingSqs())
    body = s3_notification(world.bucket, record.key)
    attributes = {"throttle-count": {"stringValue": "3", "dataType": "Number"}}
    message = sqs_record(body)
    message["messageAttributes"] = attributes
    response = run(sqs_event(message), world.workflow(ThrottlesFirst(times=1)), requeuer)
    # THEN the original is acknowledged (not a batch item failure) and a copy carries count 4
    assert response == {"batchItemFailures": []}
    [copy] = sent
    assert copy["MessageBody"] == body and copy["MessageAttributes"]["throttle-count"]["StringValue"] == "4"
    assert 16 <= copy["DelaySeconds"] <= 32  # 2 s doubled per throttle (2 x 2**4), jittered over the upper half
    assert world.repository.get(record.image_id).status == PENDING


def test_an_unreadable_image_fails_at_once_without_backing_off(world):
    record = world.upload()
    sleeps = []
    workflow = world.workflow(FakeRekognition("InvalidImageFormatException"))
    workflow.recognizer._backoff = Backoff(budget_seconds=60, sleep=sleeps.append)
    response = run(sqs_event(sqs_record(s3_notification(world.bucket, record.key))), workflow)
    assert response == {"batchItemFailures": []}
    assert world.repository.get(record.image_id).status == FAILED
    assert sleeps == []  # no backoff: a refused image is final on the first answer


class ThrottledOnce:
    """Wraps a client so that the first call of `operation` answers a throttle error."""

    def __init__(self, inner, operation, code):
        self.inner, self.operation, self.code, self.thrown = inner, operation, code, False

    def __getattr__(self, name):
        if name == self.operation and not self.thrown:
            self.thrown = True

            def throttled(**kwargs):
                raise ClientError({"Error": {"Code": self.code, "Message": "rate exceeded"}}, name)

            return throttled
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    ("service", "operation", "code"),
    [
        ("dynamodb", "update_item", "ProvisionedThroughputExceededException"),
        ("dynamodb", "get_item", "ThrottlingException"),
        ("sns", "publish", "Throttling"),
    ],
)
def test_dynamodb_and_sns_throttles_are_requeued_not_failed(world, service, operation, code):
    record = world.upload()
    sent = []

    class RecordingSqs:
        def send_message(self, **kwargs):
            sent.append(kwargs)

    workflow = world.workflow(FakeRekognition())
    no_wait = Backoff(budget_seconds=0)
    if service == "dynamodb":
        throttled = ThrottledOnce(world.aws.client("dynamodb"), operation, code)
        workflow.repository = ImageRepository(world.aws.ref("ImagesTable"), dynamodb=lambda: throttled, backoff=no_wait)
    else:
        throttled = ThrottledOnce(world.aws.client("sns"), operation, code)
        workflow.publisher = EventPublisher(world.aws.ref("ResultsTopic"), sns=lambda: throttled, backoff=no_wait)
    body = s3_notification(world.bucket, record.key)
    response = run(sqs_event(sqs_record(body)), workflow, Requeuer("q", sqs=lambda: RecordingSqs()))
    assert response == {"batchItemFailures": []}
    assert [m["MessageBody"] for m in sent] == [body]
    # AND the copy, once delivered, finishes the image exactly once
    again = sqs_record(body)
    again["messageAttributes"] = {"throttle-count": {"stringValue": "1", "dataType": "Number"}}
    assert run(sqs_event(again), workflow) == {"batchItemFailures": []}
    assert world.repository.get(record.image_id).status == DONE
    assert [e["type"] for e in world.events()] == ["image.recognized"]
