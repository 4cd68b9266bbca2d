"""Direct uploads arriving under uploads/, on moto: slots, the checks, reuse, and objects replaced in flight."""

from __future__ import annotations

import time

import pytest
from aws_lambda_powertools import Logger

from lib.adapters.repository import ImageRepository
from lib.adapters.storage import ImageStore
from lib.domain.events import ObjectCreated
from lib.domain.image_checks import ImageLimits
from lib.domain.model import FAILED, PENDING, UploadSlot, utc_now
from lib.usecases.arrivals import UploadArrivals
from tests.support.hostile_images import noise_png

# The parent of lib's child loggers, as the recognize handler creates it in Lambda.
Logger()


@pytest.fixture
def world(aws):
    class World:
        bucket = aws.ref("ImagesBucket")
        s3 = aws.client("s3")
        repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))
        announced = []

        def arrivals(self, max_bytes=15 * 1024 * 1024):
            return UploadArrivals(
                self.repository,
                ImageLimits(max_bytes=max_bytes),
                announce=self.announced.append,
                store_for=lambda bucket: ImageStore(bucket, s3=lambda: aws.client("s3")),
            )

        def slot(self, expires_in=300):
            from lib.domain.model import new_image_id

            slot = UploadSlot(new_image_id(), "big.png", "image/png", utc_now(), int(time.time()) + expires_in)
            self.repository.create_slot(slot)
            return slot

        def put(self, slot, data):
            key = f"uploads/{slot.image_id}.png"
            etag = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)["ETag"].strip('"')
            return ObjectCreated(self.bucket, key, None, len(data), etag)

        def keys(self):
            return [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])]

    return World()


def test_an_admitted_upload_becomes_a_pending_image_under_images(world):
    slot = world.slot()
    image = noise_png(16)
    arrival = world.arrivals().process(world.put(slot, image))
    record = world.repository.get(slot.image_id)
    assert (arrival.result, record.status, record.size_bytes, record.width) == ("admitted", PENDING, len(image), 16)
    assert world.keys() == [f"images/{slot.image_id}.png"]
    assert world.s3.get_object(Bucket=world.bucket, Key=record.key)["Body"].read() == image


def test_the_same_event_twice_admits_once(world):
    slot = world.slot()
    event = world.put(slot, noise_png(16))
    arrivals = world.arrivals()
    assert [arrivals.process(event).result for _ in range(2)] == ["admitted", "ignored"]


def test_an_object_replaced_before_its_event_is_handled_is_left_to_the_newer_event(world):
    slot = world.slot()
    first = world.put(slot, noise_png(16, seed=1))
    second = world.put(slot, noise_png(16, seed=2))
    arrivals = world.arrivals()
    assert arrivals.process(first).result == "superseded"
    assert arrivals.process(second).result == "admitted"
    assert world.repository.get(slot.image_id).upload_etag == second.etag


def test_an_upload_without_an_open_slot_is_deleted(world):
    slot = world.slot(expires_in=-3600)  # expired an hour ago, beyond the arrival grace
    assert world.arrivals().process(world.put(slot, noise_png(16))).result == "ignored"
    assert world.keys() == [] and world.repository.get(slot.image_id) is None


def test_an_upload_over_the_limit_fails_without_being_read(world):
    slot = world.slot()
    arrival = world.arrivals(max_bytes=100).process(world.put(slot, noise_png(16)))
    record = world.repository.get(slot.image_id)
    assert (arrival.result, record.status, record.failure.code) == ("failed", FAILED, "payload_too_large")
    assert world.keys() == [] and [r.image_id for r in world.announced] == [slot.image_id]


def test_an_image_of_another_type_than_promised_fails(world):
    slot = world.slot()  # promised image/png
    from tests.support.hostile_images import jpeg

    arrival = world.arrivals().process(world.put(slot, jpeg()))
    assert (arrival.result, world.repository.get(slot.image_id).failure.code) == ("failed", "unsupported_media_type")


def test_an_expired_slot_reads_as_absent_although_ttl_has_not_removed_it(world):
    slot = world.slot(expires_in=-1)
    assert world.repository.get_slot(slot.image_id, now=time.time()) is None
    assert world.repository.get_slot(slot.image_id, now=time.time() - 3600) == slot


def test_an_empty_upload_fails_as_an_empty_image(world):
    slot = world.slot()
    arrival = world.arrivals().process(world.put(slot, b""))
    failure = world.repository.get(slot.image_id).failure
    assert (arrival.result, failure.code, "empty" in failure.message) == ("failed", "invalid_image", True)
