"""The bad-content corpus through the running stack: each case gets its 4xx and leaves nothing stored.

Content arrives as the request body, or by URL from the hostile server (the only address the fetcher
may reach), which can also lie about types, stream without end, or dribble. Other formats are refused
with 415, not converted. A name is metadata: `../` and unicode names are accepted and cleaned (the
directory part dropped, NFC kept), never used in a storage key; control characters and over-long
names are refused.
"""

from __future__ import annotations

import time

import pytest

from tests.support import hostile_images as images
from tests.support.fetch_servers import Counter, Handler, body, chunked, dribble
from tests.support.waiting import wait_until

MAX_IMAGE_BYTES = 15 * 1024 * 1024  # the upload function's MAX_IMAGE_BYTES in serverless.yml
API_BODY_LIMIT = 10 * 1024 * 1024
# What one stream may push past the limit before the fetcher's abort reaches it: the fetcher's last
# read plus both sockets' buffers, a few MB on loopback. Far below a whole body buffered.
STREAM_SLACK_BYTES = 16 * 1024 * 1024
# The upload worker's peak resident memory (VmHWM). It holds an image of up to MAX_IMAGE_BYTES about
# twice while it fetches, checks and stores it, over an interpreter of about 60 MiB: measured 92.5 MiB
# on python3.12 with the largest accepted image. 192 MiB leaves room for other builds and is still
# well under the function's 512 MB.
PEAK_MEMORY_BOUND = 192 * 1024 * 1024

BY_BODY = {
    "random bytes named .jpg": (images.random_bytes(), "image/jpeg", 415, "unsupported_media_type"),
    "html sent as image/jpeg": (images.html_page(), "image/jpeg", 415, "unsupported_media_type"),
    "gif sent as image/jpeg": (images.other_format("GIF"), "image/jpeg", 415, "unsupported_media_type"),
    "webp sent as image/png": (images.other_format("WEBP"), "image/png", 415, "unsupported_media_type"),
    "bmp sent as image/jpeg": (images.other_format("BMP"), "image/jpeg", 415, "unsupported_media_type"),
    "tiff sent as image/jpeg": (images.other_format("TIFF"), "image/jpeg", 415, "unsupported_media_type"),
    "truncated jpeg": (images.truncated_jpeg(), "image/jpeg", 422, "invalid_image"),
    "zero bytes": (b"", "image/jpeg", 422, "invalid_image"),
    "png bomb 30000x30000": (images.png_bomb(), "image/png", 422, "invalid_image"),
    "jpeg claiming 65500x65500": (images.jpeg_declaring(65500, 65500), "image/jpeg", 422, "invalid_image"),
}

# Served by the hostile server at /content/<id>: (body, declared content type, status, code).
BY_URL = {
    "random bytes at a .jpg path": (images.random_bytes(), "image/jpeg", 415, "unsupported_media_type"),
    "html served as image/jpeg": (images.html_page(), "image/jpeg", 415, "unsupported_media_type"),
    "gif": (images.other_format("GIF"), "image/gif", 415, "unsupported_media_type"),
    "webp": (images.other_format("WEBP"), "image/webp", 415, "unsupported_media_type"),
    "bmp": (images.other_format("BMP"), "image/bmp", 415, "unsupported_media_type"),
    "tiff": (images.other_format("TIFF"), "image/tiff", 415, "unsupported_media_type"),
    "truncated jpeg": (images.truncated_jpeg(), "image/jpeg", 422, "invalid_image"),
    "zero bytes": (b"", "image/jpeg", 422, "invalid_image"),
    "png bomb 30000x30000": (images.png_bomb(), "image/png", 422, "invalid_image"),
    "jpeg with a 10 MB exif block": (images.jpeg_with_exif_flood(), "image/jpeg", 422, "invalid_image"),
}

# (name as sent, status, the name the API answers with when accepted)
NAMES = {
    "path traversal": ("../../etc/passwd", 202, "passwd"),
    "windows path": ("..\\..\\windows\\system32\\cat.jpg", 202, "cat.jpg"),
    "only dots": ("..", 202, "image"),
    "unicode": ("猫の写真.jpg", 202, "猫の写真.jpg"),
    "unicode decomposed": ("Cafe\u0301.jpg", 202, "Caf\u00e9.jpg"),
    "emoji": ("\U0001f431 cat.jpg", 202, "\U0001f431 cat.jpg"),
    "longest allowed": ("n" * 200, 202, "n" * 200),
    "NUL": ("cat\x00.jpg", 400, None),
    "newline": ("cat.jpg\n", 400, None),
    "bidi override": ("photo\u202egpj.exe", 400, None),
    "line separator": ("a\u2028b.jpg", 400, None),
    "very long": ("n" * 201, 400, None),
    "very long unicode": ("\u00e9" * 5000, 400, None),
}


def assert_refused(hardened, response, status: int, code: str, stored_before: tuple[int, int]) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"], response.text
    assert hardened.stored() == stored_before


@pytest.mark.parametrize("case", BY_BODY.values(), ids=BY_BODY.keys())
def test_bad_content_in_the_body_is_refused_with_nothing_stored(hardened, case):
    data, content_type, status, code = case
    before = hardened.stored()

    response = hardened.upload_bytes(data, content_type)

    assert_refused(hardened, response, status, code, before)


@pytest.mark.parametrize("name", BY_URL.keys())
def test_bad_content_by_url_is_refused_with_nothing_stored(hardened, name):
    data, content_type, status, code = BY_URL[name]
    path = "/content/" + name.replace(" ", "-")
    url = hardened.server.route(path, body(data, content_type=content_type))
    before = hardened.stored()

    response = hardened.upload_by_url(url)

    assert_refused(hardened, response, status, code, before)


def test_a_jpeg_with_a_10_mb_exif_block_in_the_body_is_over_the_api_limit(hardened):
    data = images.jpeg_with_exif_flood()
    assert len(data) > API_BODY_LIMIT
    before = hardened.stored()

    response = hardened.upload_bytes(data)

    assert response.status_code == 413 and hardened.stored() == before


def over_the_limit(counter: Counter, declared: int | None):
    """Stream zeros (a JPEG start first) past MAX_IMAGE_BYTES, declaring `declared` bytes or no length."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        if declared is None:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        else:
            handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        chunk = bytes(64 * 1024)
        try:
            handler.wfile.write(b"\xff\xd8\xff")
            while counter.sent < (declared or 4 * MAX_IMAGE_BYTES):
                handler.wfile.write(chunk)
                counter.sent += len(chunk)
        finally:
            counter.finished.set()

    return route


@pytest.mark.parametrize(
    "declared",
    [4 * MAX_IMAGE_BYTES, None],
    ids=["truthful content-length", "no content-length"],
)
def test_a_body_over_the_limit_is_abandoned_while_streaming(hardened, declared):
    counter = Counter()
    url = hardened.server.route(f"/over-the-limit/{declared}", over_the_limit(counter, declared))
    before = hardened.stored()

    response = hardened.upload_by_url(url)

    assert_refused(hardened, response, 413, "payload_too_large", before)
    assert counter.finished.wait(10), "the server was still streaming after the refusal"
    limit = MAX_IMAGE_BYTES if declared is None else 0  # a declared length is refused before the body
    print(
        f"streamed {counter.sent / 2**20:.1f} MiB of {(declared or 4 * MAX_IMAGE_BYTES) / 2**20:.0f} before the abort"
    )
    assert counter.sent < limit + STREAM_SLACK_BYTES, f"{counter.sent} bytes were sent before the abort"


def test_a_chunked_body_over_the_limit_is_refused(hardened):
    pieces = (bytes(64 * 1024) for _ in range(MAX_IMAGE_BYTES // (64 * 1024) + 16))
    url = hardened.server.route("/over-the-limit/chunked", chunked(pieces))
    before = hardened.stored()

    assert_refused(hardened, hardened.upload_by_url(url), 413, "payload_too_large", before)


def test_a_content_length_that_understates_the_body_reads_no_further(hardened):
    url = hardened.server.route(
        "/understated", body(images.jpeg() + bytes(1024 * 1024), content_type="image/jpeg", declared_length=1000)
    )
    before = hardened.stored()

    assert_refused(hardened, hardened.upload_by_url(url), 422, "invalid_image", before)


def test_a_server_dribbling_bytes_hits_the_total_deadline(hardened):
    url = hardened.server.route("/dribble", dribble(interval=0.5, declared_length=1000))
    before = hardened.stored()
    started = time.monotonic()

    response = hardened.upload_by_url(url)

    assert_refused(hardened, response, 422, "download_too_slow", before)
    assert "within 15 seconds" in response.json()["error"]["message"]
    assert time.monotonic() - started < 19  # the deadline, not the function's 20 s timeout, ended it


@pytest.mark.parametrize("case", NAMES.values(), ids=NAMES.keys())
def test_a_name_is_refused_or_cleaned_and_never_reaches_the_storage_key(hardened, case):
    raw, status, cleaned = case
    before = hardened.stored()

    response = hardened.upload_bytes(images.jpeg(), name=raw)

    assert response.status_code == status, response.text
    if status != 202:
        assert_refused(hardened, response, status, "invalid_request", before)
        return
    image_id = response.json()["image_id"]
    assert response.json()["name"] == cleaned
    keys = [o["Key"] for o in hardened.session.client("s3").list_objects_v2(Bucket=hardened.bucket)["Contents"]]
    assert f"images/{image_id}.jpg" in keys
    assert all(key.startswith("images/") and key.count("/") == 1 and ".." not in key for key in keys)
    assert hardened.wait_final(image_id)["name"] == cleaned


def test_the_upload_worker_stays_under_its_memory_bound_through_the_worst_bodies(hardened):
    # GIVEN the largest bodies the corpus sends by URL, and the largest image the limit accepts
    counter = Counter()
    routes = {
        "/peak/endless": over_the_limit(counter, None),
        "/peak/exif-flood": body(images.jpeg_with_exif_flood(), content_type="image/jpeg"),
        "/peak/largest-accepted": body(images.jpeg_padded_to(MAX_IMAGE_BYTES), content_type="image/jpeg"),
    }
    statuses = {}

    # WHEN each goes through the upload worker
    for path, route in routes.items():
        statuses[path] = hardened.upload_by_url(hardened.server.route(path, route)).status_code

    # THEN the refusals and the acceptance are as expected, and the worker's peak stayed under the bound
    assert statuses == {"/peak/endless": 413, "/peak/exif-flood": 422, "/peak/largest-accepted": 202}
    peak = hardened.upload_worker_peak_bytes()
    print(f"upload worker peak memory (VmHWM): {peak / 2**20:.1f} MiB; bound {PEAK_MEMORY_BOUND / 2**20:.0f} MiB")
    assert peak < PEAK_MEMORY_BOUND
    wait_until(lambda: counter.finished.is_set(), 10, "the endless stream to stop")
