"""Each kind of bad input gives its 4xx (a failing URL: 422, its code naming how) and leaves nothing stored."""

import io
import struct
import urllib.parse
import zlib

import pytest

JPEG = open("tests/fixtures/chelsea.jpg", "rb").read()


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb stops at the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")
    )


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def url_upload(url, name="x"):
    return ("GET", "/?" + urllib.parse.urlencode({"url": url, "name": name}), None, {})


def body_upload(body, content_type="image/jpeg", name="x"):
    return ("POST", "/images?" + urllib.parse.urlencode({"name": name}), body, {"content-type": content_type})


def json_upload(payload):
    return ("POST", "/images", payload, {"content-type": "application/json"})


CASES = {
    # `GET /` without url is the original design's list now (a missing url in JSON: "json without url");
    # its parameters are checked as `GET /images`'s.
    "list through GET / with a bad limit": (("GET", "/?limit=0", None, {}), 400, "invalid_request"),
    "empty url": (url_upload(""), 400, "invalid_request"),
    "file scheme": (url_upload("file:///etc/passwd"), 400, "url_not_allowed"),
    "ftp scheme": (url_upload("ftp://example.com/a.jpg"), 400, "url_not_allowed"),
    "metadata address": (url_upload("http://169.254.169.254/latest/meta-data/"), 400, "url_not_allowed"),
    "loopback not allow-listed": (url_upload("http://127.0.0.1:1/x.jpg"), 400, "url_not_allowed"),
    "private address": (url_upload("http://10.0.0.1/x.jpg"), 400, "url_not_allowed"),
    "ipv4-mapped ipv6 loopback": (url_upload("http://[::ffff:127.0.0.1]/x.jpg"), 400, "url_not_allowed"),
    "missing fixture": (url_upload("{fixtures}/nope.jpg"), 422, "remote_client_error"),
    "html served by url": (url_upload("{fixtures}/LICENSES.md"), 415, "unsupported_media_type"),
    "gif body": (body_upload(GIF, "image/jpeg"), 415, "unsupported_media_type"),
    "random bytes": (body_upload(bytes(range(256)) * 8), 415, "unsupported_media_type"),
    "zero bytes": (body_upload(b""), 422, "invalid_image"),
    "truncated jpeg": (body_upload(JPEG[: len(JPEG) // 2]), 422, "invalid_image"),
    "png decompression bomb": (body_upload(png_header_claiming(30000, 30000), "image/png"), 422, "invalid_image"),
    "text/plain body": (body_upload(b"hello", "text/plain"), 415, "unsupported_media_type"),
    "json that is not an object": (json_upload(b"[1, 2]"), 400, "invalid_request"),
    "json that is not json": (json_upload(b"{nope"), 400, "invalid_request"),
    "json without url": (json_upload(b'{"name": "x"}'), 400, "invalid_request"),
    "name with NUL": (body_upload(JPEG, name="a\x00b.jpg"), 400, "invalid_request"),
    "name too long": (body_upload(JPEG, name="n" * 300), 400, "invalid_request"),
    "name with control characters": (body_upload(JPEG, name="a\x1bb"), 400, "invalid_request"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_with_nothing_stored(stack, case):
    (method, path, body, headers), status, code = case
    stack.wait_drained()
    objects, items = stack.object_count(), stack.image_count()
    response = stack.http.request(
        method,
        stack.api + path.replace(urllib.parse.quote("{fixtures}"), urllib.parse.quote(stack.fixtures, safe="")),
        data=body,
        headers=headers,
        timeout=30,
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert (stack.object_count(), stack.image_count()) == (objects, items)


def test_a_body_over_the_api_limit_is_refused_before_it_is_read(stack):
    objects = stack.object_count()
    response = stack.http.post(
        f"{stack.api}/images",
        data=io.BytesIO(b"\xff" * (11 * 1024 * 1024)),
        headers={"content-type": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 413
    assert stack.object_count() == objects


def test_path_traversal_in_the_name_never_reaches_the_object_key(stack):
    response = stack.http.post(
        f"{stack.api}/images?" + urllib.parse.urlencode({"name": "../../etc/passwd"}),
        data=JPEG,
        headers={"content-type": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 202
    image_id = response.json()["image_id"]
    assert response.json()["name"] == "passwd"
    keys = [o["Key"] for o in stack.session.client("s3").list_objects_v2(Bucket=stack.bucket)["Contents"]]
    assert f"images/{image_id}.jpg" in keys and not any(".." in key for key in keys)
    stack.wait_final(image_id)
