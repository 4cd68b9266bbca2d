"""Recognition of one stored object (lib/usecases/recognize_image.py) in memory: once in effect, delivered twice."""

import pytest
from aws_lambda_powertools import Logger

from lib.domain.errors import InvalidImage, TransientError
from lib.domain.events import FAILED as EVENT_FAILED
from lib.domain.events import RECOGNIZED, ObjectCreated
from lib.domain.model import DONE, FAILED, PENDING, Label
from lib.usecases.recognize_image import RecognitionWorkflow
from tests.support.builders import image_record
from tests.support.fakes import FakeImageRepository, FakePublisher, FakeRecognizer

Logger()  # the handler's logger, whose child loggers the use case logs through


class World:
    def __init__(self, *records, recognizer=None, publisher=None):
        self.repository = FakeImageRepository(*records)
        self.recognizer = recognizer or FakeRecognizer([Label("Cat", 98.5), Label("Pet", 90.0)])
        self.publisher = publisher or FakePublisher()
        self.workflow = RecognitionWorkflow(self.repository, self.recognizer, self.publisher)

    def deliver(self, record):
        """The S3 event of the record's object, as the queue hands it over (again and again)."""
        return self.workflow.process(ObjectCreated(record.bucket, record.key, version_id="v1", size=3))

    def published(self):
        return [(event.type, event.image_id) for event in self.publisher.published]


def test_given_a_pending_image_when_its_object_arrives_then_it_is_done_with_labels_and_announced_once():
    record = image_record()
    world = World(record)

    outcome = world.deliver(record)

    done = world.repository.get(record.image_id)
    assert (outcome.result, outcome.image_id, done.status) == ("recognized", record.image_id, DONE)
    assert [label.name for label in done.labels] == ["Cat", "Pet"] and done.event_published
    assert world.recognizer.recognized == [(record.bucket, record.key, "v1")]
    assert world.published() == [(RECOGNIZED, record.image_id)]
    assert world.publisher.published[0].data["labels"][0]["name"] == "Cat"


def test_given_an_image_recognition_rejects_when_processed_then_it_fails_with_the_code_and_is_announced():
    record = image_record()
    world = World(record, recognizer=FakeRecognizer(error=InvalidImage("Rekognition rejected the image")))

    outcome = world.deliver(record)

    failed = world.repository.get(record.image_id)
    assert (outcome.result, outcome.failure_code, failed.status) == ("failed", "invalid_image", FAILED)
    assert failed.failure.code == "invalid_image" and failed.labels == ()
    assert world.published() == [(EVENT_FAILED, record.image_id)]


def test_given_the_same_event_twice_when_processed_then_one_analysis_one_result_and_one_event():
    record = image_record()
    world = World(record)

    first, second = world.deliver(record), world.deliver(record)

    assert (first.result, second.result) == ("recognized", "duplicate")
    assert len(world.recognizer.recognized) == 1 and len(world.published()) == 1


def test_given_a_result_whose_event_was_never_published_when_delivered_again_then_it_is_published_not_redone():
    # A first delivery wrote the result and stopped before publishing (a crash, a timeout).
    record = image_record()
    world = World(record, publisher=FakePublisher(failures=1))
    with pytest.raises(TransientError):
        world.deliver(record)
    assert world.repository.get(record.image_id).status == DONE and world.published() == []

    outcome = world.deliver(record)

    assert outcome.result == "republished" and len(world.recognizer.recognized) == 1
    assert world.published() == [(RECOGNIZED, record.image_id)]
    assert world.repository.get(record.image_id).event_published


def test_given_recognition_is_briefly_down_when_processed_then_it_raises_and_the_image_stays_pending():
    record = image_record()
    world = World(record, recognizer=FakeRecognizer(error=TransientError("Rekognition detect_labels failed")))

    with pytest.raises(TransientError):
        world.deliver(record)

    assert world.repository.get(record.image_id).status == PENDING and world.published() == []


def test_given_an_object_this_system_did_not_write_when_processed_then_it_is_ignored():
    world = World()

    outcome = world.workflow.process(ObjectCreated("b", "elsewhere/cat.jpg", version_id=None, size=3))

    assert (outcome.result, outcome.image_id) == ("ignored", None)
    assert world.recognizer.recognized == [] and world.published() == []


def test_given_an_object_with_no_record_when_processed_then_it_is_ignored():
    world = World()

    outcome = world.deliver(image_record())

    assert outcome.result == "ignored" and world.recognizer.recognized == [] and world.published() == []
