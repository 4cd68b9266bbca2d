"""The largest result the code can produce fits a DynamoDB item (400 KB) and an SNS message (256 KiB).

The bounds are Rekognition's own, as documented: DetectLabels returns at most MaxLabels labels (the
recognizer asks for 20), DetectFaces at most the 100 largest faces, DetectText at most 100 words
(counted here as 100 lines, each far longer than any word), and the moderation taxonomy has under
100 labels. Names and URLs are capped by the upload function (200 and 2048 characters). Each
value is then taken well past what Rekognition returns, so the margin is on the safe side.
"""

import json

from lib.adapters.image_items import image_item, serialize
from lib.adapters.rekognition_client import RekognitionRecognizer
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.domain.model import ImageRecord, Label
from local.aws.limits import ITEM_LIMIT_BYTES, MESSAGE_LIMIT_BYTES, item_size
from tests.support.builders import image_record

LONG = "W" * 120  # longer than any label, parent, category or colour name Rekognition uses


def largest_record() -> ImageRecord:
    labels = tuple(
        Label(name=f"{LONG}{i}", confidence=99.123456, parents=(LONG,) * 10, categories=(LONG,) * 3)
        for i in range(RekognitionRecognizer(frozenset()).max_labels)
    )
    box = {"Width": 0.123456789, "Height": 0.123456789, "Left": 0.123456789, "Top": 0.123456789}
    details = {
        "image_properties": {
            "brightness": 99.123456,
            "sharpness": 99.123456,
            "contrast": 99.123456,
            "dominant_colors": [{"hex": "#ffffff", "name": LONG, "percent": 12.3456} for _ in range(20)],
        },
        "faces": [{"confidence": 99.99, "bounding_box": box} for _ in range(100)],
        "text": ["x" * 500 for _ in range(100)],
        "moderation": [{"name": LONG, "confidence": 99.99, "parent": LONG} for _ in range(100)],
    }
    return image_record(
        "f" * 32,
        created="2026-11-30T00:00:00.000000Z",
        name="n" * 200,
        status="DONE",
        bucket="b" * 63,
        key="images/" + "k" * 200,
        content_type="image/jpeg",
        size_bytes=15 * 1024 * 1024,
        width=10_000,
        height=10_000,
        source_url="https://example.com/" + "u" * 2028,
        labels=labels,
        details=details,
    )


def test_the_largest_image_item_fits_a_dynamodb_item_():
    record = largest_record()
    item = {
        **image_item(record),
        "labels": json.dumps([label.to_dict() for label in record.labels]),
        "details": json.dumps(record.details),
        "failure": json.dumps({"code": "X" * 64, "message": "m" * 1000}),
    }
    size = item_size(serialize(item))
    assert size < ITEM_LIMIT_BYTES, size


def test_the_largest_completion_event_fits_an_sns_message_():
    message = CompletionEvent.for_image(RECOGNIZED, largest_record().to_api(), "a" * 128).to_message()
    assert len(message.encode()) < MESSAGE_LIMIT_BYTES, len(message.encode())
