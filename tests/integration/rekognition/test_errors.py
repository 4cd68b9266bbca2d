"""Rekognition's errors, as boto3 raises them, for bad images, bad parameters and bad requests."""

from __future__ import annotations

import base64
import io
import json
import random

import pytest
import requests
from botocore.exceptions import ClientError, ParamValidationError
from PIL import Image

from tests.integration.rekognition.support import fixture_bytes

TARGET = "RekognitionService.DetectLabels"
JSON_11 = "application/x-amz-json-1.1"


def _error_code(call, **arguments) -> str:
    with pytest.raises(ClientError) as caught:
        call(**arguments)
    return caught.value.response["Error"]["Code"]


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format="GIF")
    return buffer.getvalue()


def _post(url: str, body, target: str = TARGET) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url, data=data, headers={"X-Amz-Target": target, "Content-Type": JSON_11}, timeout=300)


def _bytes_request(data: bytes, **extra) -> dict:
    return {"Image": {"Bytes": base64.b64encode(data).decode()}, **extra}


@pytest.mark.parametrize(
    "image_bytes",
    [
        pytest.param(_gif(), id="gif"),
        pytest.param(fixture_bytes("chelsea.jpg")[:15_000], id="truncated-jpeg"),
        pytest.param(fixture_bytes("sign.png")[:3_000], id="truncated-png"),
        pytest.param(random.Random(7).randbytes(20_000), id="random-bytes"),
        pytest.param(b"\xff\xd8\xff" + random.Random(8).randbytes(20_000), id="random-bytes-behind-a-jpeg-signature"),
        pytest.param(b"BM" + bytes(5000), id="bmp-header"),
    ],
)
def test_what_is_not_a_whole_jpeg_or_png_is_an_invalid_image_format(rekognition, image_bytes):
    for call in (rekognition.detect_labels, rekognition.detect_faces, rekognition.detect_text):
        assert _error_code(call, Image={"Bytes": image_bytes}) == "InvalidImageFormatException"


def test_bytes_over_5_mb_are_too_large(rekognition):
    oversized = b"\xff\xd8\xff" + bytes(6 * 1024 * 1024)
    assert _error_code(rekognition.detect_labels, Image={"Bytes": oversized}) == "ImageTooLargeException"


def test_exactly_5_mb_is_not_rejected_for_size(rekognition):
    # Padding after the end-of-image marker: a valid JPEG of exactly 5 MB.
    image = fixture_bytes("chelsea.jpg")
    padded = image + bytes(5 * 1024 * 1024 - len(image))
    assert len(padded) == 5 * 1024 * 1024
    assert rekognition.detect_labels(Image={"Bytes": padded}, MaxLabels=1)["Labels"]


def test_s3_objects_over_15_mb_are_too_large(rekognition, s3_emulator):
    s3_emulator.create_bucket(Bucket="big-photos")
    s3_emulator.put_object(Bucket="big-photos", Key="huge.jpg", Body=b"\xff\xd8\xff" + bytes(16 * 1024 * 1024))
    image = {"S3Object": {"Bucket": "big-photos", "Name": "huge.jpg"}}
    assert _error_code(rekognition.detect_labels, Image=image) == "ImageTooLargeException"


@pytest.mark.parametrize(
    ("bucket", "key"),
    [("photos-errors", "missing.jpg"), ("no-such-bucket", "photo.jpg")],
    ids=["missing-key", "missing-bucket"],
)
def test_a_missing_s3_object_is_an_invalid_s3_object(rekognition, s3_emulator, bucket, key):
    s3_emulator.create_bucket(Bucket="photos-errors")
    image = {"S3Object": {"Bucket": bucket, "Name": key}}
    for call in (rekognition.detect_labels, rekognition.detect_moderation_labels):
        assert _error_code(call, Image=image) == "InvalidS3ObjectException"


def test_min_confidence_101_is_an_invalid_parameter(rekognition, rekognition_service):
    # botocore checks no maximum, so boto3 sends it and the service must refuse it itself.
    image = {"Bytes": fixture_bytes("chelsea.jpg")}
    assert _error_code(rekognition.detect_labels, Image=image, MinConfidence=101) == "InvalidParameterException"
    assert _error_code(rekognition.detect_moderation_labels, Image=image, MinConfidence=101) == (
        "InvalidParameterException"
    )
    raw = _post(rekognition_service.url, _bytes_request(fixture_bytes("chelsea.jpg"), MinConfidence=101))
    assert raw.status_code == 400
    assert raw.json()["__type"] == "InvalidParameterException"


def test_negative_max_labels_is_refused_by_boto3_and_by_the_service(rekognition, rekognition_service):
    with pytest.raises(ParamValidationError):
        rekognition.detect_labels(Image={"Bytes": fixture_bytes("chelsea.jpg")}, MaxLabels=-1)
    raw = _post(rekognition_service.url, _bytes_request(fixture_bytes("chelsea.jpg"), MaxLabels=-1))
    assert (raw.status_code, raw.json()["__type"]) == (400, "InvalidParameterException")


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({"Features": ["FACES"]}, id="unknown-feature"),
        pytest.param({"Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES", "GENERAL_LABELS"]}, id="too-many-features"),
        pytest.param({"Settings": {"ImageProperties": {"MaxDominantColors": 21}}}, id="too-many-colours"),
    ],
)
def test_bad_detect_labels_parameters_are_invalid(rekognition, arguments):
    image = {"Bytes": fixture_bytes("chelsea.jpg")}
    assert _error_code(rekognition.detect_labels, Image=image, **arguments) == "InvalidParameterException"


def test_an_image_needs_exactly_one_source(rekognition):
    both = {"Bytes": fixture_bytes("chelsea.jpg"), "S3Object": {"Bucket": "photos", "Name": "a.jpg"}}
    assert _error_code(rekognition.detect_labels, Image=both) == "InvalidParameterException"
    assert _error_code(rekognition.detect_labels, Image={}) == "InvalidParameterException"


def test_errors_travel_as_aws_sends_them(rekognition_service):
    response = _post(rekognition_service.url, _bytes_request(_gif()))
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "InvalidImageFormatException"
    assert response.headers["Content-Type"] == JSON_11
    assert response.headers["x-amzn-RequestId"]
    body = response.json()
    assert body["__type"] == "InvalidImageFormatException" and body["message"]


def test_an_operation_that_is_not_emulated_is_an_unknown_operation(rekognition, rekognition_service):
    image = {"Bytes": fixture_bytes("astronaut.jpg")}
    assert _error_code(rekognition.compare_faces, SourceImage=image, TargetImage=image) == "UnknownOperationException"
    for target in ("RekognitionService.DoSomething", "", "Other.DetectLabels"):
        response = _post(rekognition_service.url, {}, target=target)
        assert (response.status_code, response.json()["__type"]) == (400, "UnknownOperationException")


def test_a_body_that_is_not_json_is_a_serialization_error(rekognition_service):
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = _post(rekognition_service.url, body)
        assert (response.status_code, response.json()["__type"]) == (400, "SerializationException")


def test_health_reports_readiness(rekognition_service):
    rekognition_service.wait_ready(300)
    response = requests.get(f"{rekognition_service.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["ready"] is True
    missing = requests.get(f"{rekognition_service.url}/nothing-here", timeout=10)
    assert missing.status_code == 404 and missing.json()["__type"]
