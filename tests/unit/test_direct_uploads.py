"""POST /uploads: the presigned POST's policy, decoded and checked condition by condition."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import boto3
import pytest
from botocore.config import Config

from lib.adapters.storage import ImageStore
from lib.domain.errors import InvalidRequest, UnsupportedMediaType
from lib.usecases.direct_uploads import EXPIRES_IN_SECONDS, DirectUploads

BUCKET = "images-bucket"
MAX_BYTES = 15 * 1024 * 1024


class RecordingSlots:
    def __init__(self):
        self.slots = []

    def create_slot(self, slot):
        self.slots.append(slot)


def signer():
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(signature_version="s3v4"),
    )


@pytest.fixture
def opened():
    repository = RecordingSlots()
    service = DirectUploads(store=ImageStore(BUCKET, signer=signer), repository=repository, max_bytes=MAX_BYTES)
    result = service.open("holiday.png", "image/png", "alice", now=1_800_000_000)
    return result, repository


def policy_of(fields):
    return json.loads(base64.b64decode(fields["policy"]))


def test_the_post_is_signed_with_sigv4_not_sigv2(opened):
    fields = opened[0].post.fields
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"x-amz-credential", "x-amz-date", "x-amz-signature"} <= set(fields)
    assert not {"AWSAccessKeyId", "signature"} & set(fields)


def test_the_policy_pins_bucket_key_content_type_and_size(opened):
    result, repository = opened
    conditions = policy_of(result.post.fields)["conditions"]
    key = f"uploads/{result.slot.image_id}.png"
    assert {"bucket": BUCKET} in conditions
    assert {"key": key} in conditions and result.post.fields["key"] == key
    assert {"Content-Type": "image/png"} in conditions and result.post.fields["Content-Type"] == "image/png"
    assert ["content-length-range", 1, MAX_BYTES] in conditions
    # every signed field is bound by a condition too, so none can be swapped
    for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date"):
        assert {name: result.post.fields[name]} in conditions
    assert repository.slots == [result.slot]


def test_the_policy_expires_after_five_minutes(opened):
    result, _ = opened
    expiration = datetime.strptime(policy_of(result.post.fields)["expiration"], "%Y-%m-%dT%H:%M:%SZ")
    issued = datetime.strptime(result.post.fields["x-amz-date"], "%Y%m%dT%H%M%SZ")
    assert (expiration - issued).total_seconds() == pytest.approx(EXPIRES_IN_SECONDS, abs=2)
    assert result.slot.expires_at == 1_800_000_000 + EXPIRES_IN_SECONDS


@pytest.mark.parametrize("content_type", ["image/gif", "image/jpeg; charset=x", "", "IMAGE/PNG"])
def test_only_jpeg_and_png_are_offered(content_type):
    service = DirectUploads(store=ImageStore(BUCKET, signer=signer), repository=RecordingSlots(), max_bytes=MAX_BYTES)
    with pytest.raises(UnsupportedMediaType):
        service.open("x", content_type, "alice")


def test_a_bad_name_is_refused_before_any_slot_is_written():
    repository = RecordingSlots()
    service = DirectUploads(store=ImageStore(BUCKET, signer=signer), repository=repository, max_bytes=MAX_BYTES)
    with pytest.raises(InvalidRequest):
        service.open("bad\x00name", "image/jpeg", "alice")
    assert repository.slots == []
