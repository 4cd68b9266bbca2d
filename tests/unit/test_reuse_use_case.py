"""Identical images recognized once per owner (lib/usecases/reuse.py), on the in-memory fakes."""

from __future__ import annotations

import dataclasses
import hashlib
import time

import pytest
from aws_lambda_powertools import Logger

from lib.domain.content import ContentKey, RecognitionSettings, content_sha256
from lib.domain.events import ObjectCreated
from lib.domain.image_checks import ImageLimits
from lib.domain.keys import upload_key_for
from lib.domain.model import DONE, FAILED, PENDING, Label, UploadSlot, new_image_id, utc_now
from lib.usecases.arrivals import UploadArrivals
from lib.usecases.ingest import IngestService
from lib.usecases.recognize_image import RecognitionWorkflow
from lib.usecases.reuse import OriginalPending, ResultReuse
from local.paths import FIXTURES_DIR
from tests.support.builders import image_record
from tests.support.fakes import FakeFetcher, FakeImageRepository, FakeImageStore, FakePublisher, FakeRecognizer

Logger()  # the handler's logger, whose child loggers the use case logs through

SETTINGS = RecognitionSettings(frozenset({"labels", "properties"}), 20, 55, "1")
BYTES = content_sha256(b"the same bytes")
MAX_WAIT = 120.0


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world():
    repository = FakeImageRepository()
    recognizer = FakeRecognizer(labels=[Label("Cat", 98.5, parents=("Animal",)), Label("Animal", 98.5)])
    publisher = FakePublisher()
    clock = Clock()
    reuse = ResultReuse(repository.content, repository, SETTINGS, MAX_WAIT, clock=clock)

    class World:
        pass

    w = World()
    w.repository, w.recognizer, w.publisher, w.clock = repository, recognizer, publisher, clock
    w.workflow = RecognitionWorkflow(repository, recognizer, publisher, reuse=reuse)

    def add(owner: str = "alice", sha256: str | None = BYTES, **fields):
        record = image_record(owner=owner, content_sha256=sha256, **fields)
        repository.create_pending(record)
        return record

    def process(record, waiting_since=None):
        return w.workflow.process(ObjectCreated(record.bucket, record.key, version_id=None, size=3), waiting_since)

    w.add, w.process = add, process
    return w


def test_a_later_identical_image_of_the_same_owner_copies_the_result_without_recognition(world):
    # GIVEN alice's first image of some bytes, recognized
    first = world.add()
    world.process(first)
    # WHEN alice sends the same bytes again
    outcome = world.process(second := world.add())
    # THEN Rekognition was called once, and the second record holds its own copy of the labels
    assert outcome.result == "reused" and len(world.recognizer.recognized) == 1
    stored = world.repository.get(second.image_id)
    assert stored.status == DONE and stored.reused_from == first.image_id
    assert stored.labels == world.repository.get(first.image_id).labels
    assert stored.to_api()["reused_from"] == first.image_id
    # AND each image has its own completion event, the second one naming the image it reused
    events = {event.image_id: event for event in world.publisher.published}
    assert set(events) == {first.image_id, second.image_id}
    assert stored.event_published


def test_another_owner_with_the_same_bytes_is_recognized_itself(world):
    first = world.add(owner="alice")
    world.process(first)
    outcome = world.process(other := world.add(owner="bob"))
    assert outcome.result == "recognized" and len(world.recognizer.recognized) == 2
    assert world.repository.get(other.image_id).reused_from is None
    # AND each owner keeps an entry of their own: alice's next copy still reuses alice's first
    assert sorted(world.repository.content.entries.values()) == sorted([first.image_id, other.image_id])
    assert world.repository.get(world.process(world.add(owner="alice")).image_id).reused_from == first.image_id


def test_other_settings_or_another_model_version_do_not_reuse(world):
    world.process(world.add())
    world.workflow.reuse.settings = dataclasses.replace(SETTINGS, model_version="2")
    assert world.process(world.add()).result == "recognized"
    world.workflow.reuse.settings = dataclasses.replace(SETTINGS, min_confidence=70)
    assert world.process(world.add()).result == "recognized"
    assert len(world.recognizer.recognized) == 3


def test_a_duplicate_waits_while_the_first_is_pending_then_reuses_its_result(world):
    # GIVEN the first image has claimed the bytes but is not recognized yet
    first, second = world.add(), world.add()
    world.workflow.reuse.original_for(first)
    # WHEN the duplicate comes first to recognition
    with pytest.raises(OriginalPending) as waiting:
        world.process(second)
    # THEN it waits, recognizing nothing, and is told when its wait began
    assert waiting.value.original_id == first.image_id and waiting.value.waiting_since == world.clock.now
    assert world.recognizer.recognized == [] and world.repository.get(second.image_id).status == PENDING
    # AND once the first is done, the duplicate (back after its delay) reuses the result
    world.process(first)
    world.clock.now += 5
    assert world.process(second, waiting.value.waiting_since).result == "reused"
    assert len(world.recognizer.recognized) == 1


def test_a_duplicate_keeps_its_wait_start_and_is_recognized_itself_when_the_wait_runs_out(world):
    first, second = world.add(), world.add()
    world.workflow.reuse.original_for(first)
    began = world.clock.now
    world.clock.now += MAX_WAIT - 1
    with pytest.raises(OriginalPending) as waiting:
        world.process(second, began)
    assert waiting.value.waiting_since == began
    world.clock.now = began + MAX_WAIT
    assert world.process(second, began).result == "recognized"
    # The first still holds the entry: the images after it may still reuse its result.
    key = ContentKey("alice", BYTES, SETTINGS)
    assert world.repository.content.entries[(key.partition, key.sort)] == first.image_id


def test_when_the_first_failed_the_duplicate_is_recognized_and_takes_its_place(world):
    first = world.add()
    world.recognizer.error = None
    world.workflow.reuse.original_for(first)
    world.repository.complete(first, FAILED)
    second = world.add()
    assert world.process(second).result == "recognized"
    assert world.process(third := world.add()).result == "reused"
    assert world.repository.get(third.image_id).reused_from == second.image_id


def test_an_image_with_no_hash_is_recognized_itself(world):
    world.process(world.add(sha256=None))
    assert world.process(world.add(sha256=None)).result == "recognized"
    assert world.repository.content.entries == {}


def test_forgetting_a_deleted_image_removes_only_its_own_entries(world):
    # GIVEN alice's first image and a duplicate that reused it
    first = world.add()
    world.process(first)
    world.process(second := world.add())
    # WHEN the duplicate is deleted, the first's entry stays; when the first is deleted, it goes
    world.repository.forget_content(world.repository.get(second.image_id))
    assert list(world.repository.content.entries.values()) == [first.image_id]
    world.repository.forget_content(world.repository.get(first.image_id))
    assert world.repository.content.entries == {}
    # THEN the next upload of those bytes is recognized itself
    assert world.process(world.add()).result == "recognized"


def test_a_deleted_first_image_is_replaced_by_the_duplicate(world):
    first = world.add()
    world.process(first)
    world.repository.delete(first.image_id)  # gone without its entry forgotten
    assert world.process(second := world.add()).result == "recognized"
    assert world.process(world.add()).result == "reused"
    assert set(world.repository.content.entries.values()) == {second.image_id}


def test_ingest_records_the_sha256_of_the_stored_bytes():
    data = (FIXTURES_DIR / "chelsea.jpg").read_bytes()
    repository, store = FakeImageRepository(), FakeImageStore()
    service = IngestService(FakeFetcher({"https://example.test/c.jpg": data}), store, repository, ImageLimits())
    by_url = service.ingest_url("https://example.test/c.jpg", "c", "alice")
    by_body = service.ingest_bytes(data, "c", "alice")
    assert by_url.content_sha256 == by_body.content_sha256 == content_sha256(store.objects[by_url.key][0])
    assert repository.get(by_body.image_id).content_sha256 == content_sha256(data)


def test_settings_keys_name_every_setting_and_refuse_a_model_version_that_could_run_into_another():
    assert ContentKey("alice", BYTES, SETTINGS).sort == "RESULT#labels,properties;max=20;min=55#1"
    with pytest.raises(ValueError):
        RecognitionSettings(frozenset({"labels"}), 20, 55, "1#2")


def test_an_admitted_direct_upload_records_the_sha256_of_the_bytes_it_stored():
    data = (FIXTURES_DIR / "chelsea.jpg").read_bytes()
    repository, store = FakeImageRepository(), FakeImageStore()
    image_id = new_image_id()
    repository.create_slot(UploadSlot(image_id, "n", "image/jpeg", utc_now(), int(time.time()) + 600, owner="alice"))
    key = upload_key_for(image_id, "image/jpeg")
    store.put(key, data, "image/jpeg", {})
    arrivals = UploadArrivals(repository, ImageLimits(), announce=lambda record: None, store_for=lambda bucket: store)
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert arrivals.process(ObjectCreated(store.bucket, key, None, len(data), etag=etag)).result == "admitted"
    record = repository.get(image_id)
    assert record.content_sha256 == content_sha256(store.objects[record.key][0]) == content_sha256(data)
