"""The load of a chaos run: images uploaded through the API, and a second copy of some S3 notifications.

Images are the test fixtures, sent as bytes or by URL from the stack's fixture server, each under a
name of its own so the audit can tell a duplicated record from two uploads. One in 25 is a PNG whose
headers are sound but whose pixel data is corrupt: the upload accepts it, Rekognition cannot decode
it, and it must end FAILED with a reason.
"""

from __future__ import annotations

import json
import random
import struct
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from local.chaos.scenario import ChaosSettings
from local.paths import FIXTURES_DIR
from local.stack import LocalSystem

PHOTOS = ("chelsea.jpg", "coffee.jpg", "rocket.jpg", "astronaut.jpg", "sign.png", "text.png")
UNDECODABLE_EVERY = 25
BY_URL_EVERY = 3


@dataclass(frozen=True)
class Upload:
    name: str
    fixture: str
    by_url: bool
    undecodable: bool = False

    @property
    def extension(self) -> str:
        return "png" if self.undecodable or self.fixture.endswith(".png") else "jpg"


@dataclass(frozen=True)
class Accepted:
    image_id: str
    name: str
    key: str


def upload_plan(count: int) -> list[Upload]:
    plan = []
    for index in range(count):
        name = f"chaos-{index:05d}"
        if index % UNDECODABLE_EVERY == UNDECODABLE_EVERY - 1:
            plan.append(Upload(name, "sign.png", by_url=False, undecodable=True))
        else:
            plan.append(Upload(name, PHOTOS[index % len(PHOTOS)], by_url=index % BY_URL_EVERY == 0))
    return plan


def undecodable_png(fixtures: Path = FIXTURES_DIR) -> bytes:
    """sign.png with its first IDAT chunk's data inverted: headers and IEND intact, pixels unreadable."""
    data = bytearray((fixtures / "sign.png").read_bytes())
    start = data.index(b"IDAT") + 4
    (length,) = struct.unpack(">I", data[start - 8 : start - 4])
    data[start : start + length] = bytes(b ^ 0xFF for b in data[start : start + length])
    return bytes(data)


class LoadDriver:
    def __init__(self, stack: LocalSystem, settings: ChaosSettings):
        assert stack.endpoints is not None, "start the stack first"
        self.stack = stack
        self.settings = settings
        self.api = stack.endpoints.api
        self.fixtures = stack.endpoints.fixtures
        self._random = random.Random(settings.seed)
        self._lock = threading.Lock()
        self._bodies = {photo: (FIXTURES_DIR / photo).read_bytes() for photo in PHOTOS}
        self._undecodable = undecodable_png()
        self._sqs = stack.session().client("sqs")
        self._uploads_queue = stack.physical("UploadsQueue")
        self._bucket = stack.physical("ImagesBucket")
        self.accepted: dict[str, Accepted] = {}
        self.refused: list[str] = []
        self.duplicates_sent = 0

    def push(self) -> None:
        """Upload every image of the plan; returns once each has its answer."""
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="chaos-upload") as pool:
            list(pool.map(self._upload, upload_plan(self.settings.images)))

    def _upload(self, upload: Upload) -> None:
        response = self._send(upload)
        if response.status_code != 202:
            with self._lock:
                self.refused.append(f"{upload.name}: HTTP {response.status_code} {response.text[:200]}")
            return
        image_id = response.json()["image_id"]
        accepted = Accepted(image_id, upload.name, f"images/{image_id}.{upload.extension}")
        with self._lock:
            self.accepted[image_id] = accepted
            duplicate = self._random.random() < self.settings.duplicate_rate
        if duplicate:
            self._send_notification_again(accepted.key)

    def _send(self, upload: Upload) -> requests.Response:
        query = {"name": upload.name}
        if upload.by_url:
            query["url"] = f"{self.fixtures}/{upload.fixture}"
            return requests.get(f"{self.api}/?{urllib.parse.urlencode(query)}", timeout=60)
        content = self._undecodable if upload.undecodable else self._bodies[upload.fixture]
        content_type = "image/png" if upload.extension == "png" else "image/jpeg"
        return requests.post(
            f"{self.api}/images?{urllib.parse.urlencode(query)}",
            data=content,
            headers={"content-type": content_type},
            timeout=60,
        )

    def _send_notification_again(self, key: str) -> None:
        """S3 delivers its events at least once: this is the second delivery, as the queue would get it."""
        self._sqs.send_message(QueueUrl=self._uploads_queue, MessageBody=s3_notification(self._bucket, key))
        with self._lock:
            self.duplicates_sent += 1


def s3_notification(bucket: str, key: str) -> str:
    """An ObjectCreated event for `key`, as S3 sends it through SNS with raw message delivery."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": urllib.parse.quote_plus(key, safe="/")},
        },
    }
    return json.dumps({"Records": [record]})
