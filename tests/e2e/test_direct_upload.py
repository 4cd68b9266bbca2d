"""Presigned direct uploads on the local stack: large images, checks on arrival, reuse refused."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests

from tests.support.e2e_stack import skip_on_ministack, unique_name
from tests.support.hostile_images import noise_png, png_declaring
from tests.support.waiting import wait_until

TWELVE_MB_SIDE = 2000  # 2000 x 2000 RGB noise: about 12 MB, over the direct upload's 4.4 MB


def open_upload(stack, content_type: str = "image/png", name: str | None = None) -> dict:
    response = stack.http.post(
        f"{stack.api}/uploads", json={"name": name or unique_name(), "content_type": content_type}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def post_object(upload: dict, data: bytes, content_type: str = "image/png", **field_overrides) -> requests.Response:
    fields = {**upload["upload"]["fields"], **field_overrides}
    return requests.post(
        upload["upload"]["url"], data=fields, files={"file": ("image", data, content_type)}, timeout=60
    )


def objects_of(stack, image_id: str) -> list[str]:
    s3 = stack.session.client("s3")
    keys = []
    for prefix in ("uploads/", "images/"):
        listed = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"{prefix}{image_id}")
        keys += [o["Key"] for o in listed.get("Contents", [])]
    return keys


def test_a_12_mb_png_reaches_done_through_a_presigned_post(stack):
    # GIVEN an image far over what a Lambda invocation can carry, and an open upload slot
    image = noise_png(TWELVE_MB_SIDE)
    assert len(image) > 12_000_000
    upload = open_upload(stack)
    image_id = upload["image_id"]
    assert stack.image(image_id)["status"] == "AWAITING_UPLOAD"
    listed = stack.http.get(f"{stack.api}/images?limit=100", timeout=10).json()["items"]
    assert image_id not in [item["image_id"] for item in listed]

    # WHEN the bytes go straight to S3 with the presigned POST
    started = time.perf_counter()
    sent = post_object(upload, image)
    posted = time.perf_counter()

    # THEN it is checked, admitted under images/, recognised, and served back byte for byte
    assert sent.status_code == 204, sent.text
    final = stack.wait_final(image_id, timeout=90)
    done = time.perf_counter()
    print(f"\n{len(image) / 1e6:.1f} MB PNG: POST to S3 {posted - started:.2f} s, DONE {done - posted:.2f} s later")
    assert (final["status"], final["size_bytes"], final["width"]) == ("DONE", len(image), TWELVE_MB_SIDE)
    assert objects_of(stack, image_id) == [f"images/{image_id}.png"]
    content = stack.http.get(f"{stack.api}/images/{image_id}/content", allow_redirects=False, timeout=10)
    assert content.status_code == 302
    fetched = requests.get(content.headers["location"], timeout=30).content
    assert hashlib.sha256(fetched).digest() == hashlib.sha256(image).digest()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<html><body>not an image</body></html>", "unsupported_media_type"),
        (png_declaring(100_000, 100_000), "invalid_image"),
    ],
    ids=["not-an-image", "png-declaring-100000x100000"],
)
def test_an_upload_that_fails_the_checks_ends_failed_and_its_object_is_deleted(stack, data, code):
    upload = open_upload(stack)
    assert post_object(upload, data).status_code == 204
    final = stack.wait_final(upload["image_id"])
    assert (final["status"], final["error"]["code"]) == ("FAILED", code)
    wait_until(lambda: objects_of(stack, upload["image_id"]) == [], 10, "the refused object to be deleted")
    content = stack.http.get(f"{stack.api}/images/{upload['image_id']}/content", allow_redirects=False, timeout=10)
    assert content.status_code == 404


def test_a_second_object_sent_with_the_same_presigned_post_does_not_replace_the_result(stack):
    # GIVEN an image admitted and recognised through a presigned POST
    upload = open_upload(stack)
    first = noise_png(64, seed=1)
    assert post_object(upload, first).status_code == 204
    done = stack.wait_final(upload["image_id"])
    assert done["status"] == "DONE"

    # WHEN the same POST is used again, before it expires, with other bytes
    assert post_object(upload, noise_png(96, seed=2)).status_code == 204

    # THEN the second object is refused and deleted, and the image and its bytes are the first's
    wait_until(
        lambda: objects_of(stack, upload["image_id"]) == [f"images/{upload['image_id']}.png"],
        20,
        "the second object to be refused",
    )
    assert stack.image(upload["image_id"]) == done
    content = stack.http.get(f"{stack.api}/images/{upload['image_id']}/content", allow_redirects=False, timeout=10)
    assert requests.get(content.headers["location"], timeout=10).content == first


def test_an_upload_slot_is_refused_for_another_content_type(stack):
    response = stack.http.post(f"{stack.api}/uploads", json={"content_type": "image/gif"}, timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (415, "unsupported_media_type")


def s3_error_code(response: requests.Response) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


@pytest.mark.parametrize(
    ("data", "overrides", "status", "code"),
    [
        (b"\x00" * (15 * 1024 * 1024 + 1), {}, 400, "EntityTooLarge"),
        (noise_png(8), {"key": "uploads/0123456789abcdef0123456789abcdef.png"}, 403, "AccessDenied"),
        (noise_png(8), {"Content-Type": "image/jpeg"}, 403, "AccessDenied"),
    ],
    ids=["over-the-size-range", "another-key", "another-content-type"],
)
def test_a_presigned_post_outside_its_policy_is_refused_and_stores_nothing(stack, data, overrides, status, code):
    upload = open_upload(stack)
    response = post_object(upload, data, **overrides)
    assert (response.status_code, s3_error_code(response)) == (status, code)
    assert objects_of(stack, upload["image_id"]) == []
    assert stack.image(upload["image_id"])["status"] == "AWAITING_UPLOAD"


def test_the_bucket_answers_cors_for_the_console_origin_only(stack):
    skip_on_ministack(stack, "its S3 answers every origin's CORS preflight with '*' (docs/fidelity.md, CORS on S3)")
    upload = open_upload(stack)
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = requests.options(upload["upload"]["url"], headers={"Origin": stack.api, **preflight}, timeout=10)
    assert (allowed.status_code, allowed.headers["Access-Control-Allow-Origin"]) == (200, stack.api)
    refused = requests.options(upload["upload"]["url"], headers={"Origin": "https://evil.example", **preflight})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers


def test_a_5_mb_image_sent_to_post_images_gets_the_refusal_aws_gives(stack):
    skip_on_ministack(
        stack, "its HTTP API passes an event over Lambda's 6 MB payload to the function (docs/fidelity.md, payload)"
    )
    # 5 MB travels base64-encoded as about 6.7 MB: over Lambda's 6 MB invocation payload
    five_mb = noise_png(1291)
    assert 5_000_000 <= len(five_mb) < 5_100_000
    response = stack.http.post(
        f"{stack.api}/images?name=big.png", data=five_mb, headers={"content-type": "image/png"}, timeout=30
    )
    assert (response.status_code, response.json()) == (413, {"message": "Request Too Long"})
