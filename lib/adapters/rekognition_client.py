"""Amazon Rekognition adapter: one image in S3 in, labels and optional details out.

Rekognition's error codes are translated (through lib/adapters/aws_errors.py) into three domain outcomes:
the image is unusable (InvalidImage: permanent, the image is marked FAILED), the caller is over its
quota (Throttled: backed off here, then re-queued by the handler, never dead-lettered), or the call
may work later (TransientError: the queue retries it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lib.adapters.aws_errors import Translation, call_aws
from lib.adapters.clients import client
from lib.domain.errors import InvalidImage
from lib.domain.model import Label
from lib.ports import Recognition
from lib.throttling import Backoff

# The image itself is the problem: retrying cannot help.
_PERMANENT = frozenset(
    {
        "InvalidImageFormatException",
        "ImageTooLargeException",
        "InvalidS3ObjectException",
        "InvalidParameterException",
    }
)

# Boxes kept per label: enough to draw a crowd, and the record stays far below DynamoDB's 400 KB.
MAX_INSTANCES = 10


class RekognitionRecognizer:
    def __init__(
        self,
        features: frozenset[str],
        max_labels: int = 20,
        min_confidence: int = 55,
        rekognition: Callable[[], Any] = lambda: client("rekognition"),
        backoff: Backoff | None = None,
    ):
        self.features = features
        self.max_labels = max_labels
        self.min_confidence = min_confidence
        self._rekognition = rekognition
        self._backoff = backoff or Backoff()

    def recognize(self, bucket: str, key: str, version_id: str | None = None) -> Recognition:
        image: dict[str, Any] = {"S3Object": {"Bucket": bucket, "Name": key}}
        if version_id:
            image["S3Object"]["Version"] = version_id
        label_features = ["GENERAL_LABELS"] + (["IMAGE_PROPERTIES"] if "properties" in self.features else [])
        response = self._call(
            "detect_labels",
            Image=image,
            MaxLabels=self.max_labels,
            MinConfidence=self.min_confidence,
            Features=label_features,
        )
        labels = [
            Label(
                name=label["Name"],
                confidence=float(label["Confidence"]),
                parents=tuple(p["Name"] for p in label.get("Parents", [])),
                categories=tuple(c["Name"] for c in label.get("Categories", [])),
                instances=tuple(
                    {"confidence": round(i["Confidence"], 2), "bounding_box": i["BoundingBox"]}
                    for i in label.get("Instances", [])[:MAX_INSTANCES]
                    if "BoundingBox" in i
                ),
            )
            for label in response.get("Labels", [])
        ]
        details: dict[str, Any] = {}
        if "properties" in self.features and "ImageProperties" in response:
            details["image_properties"] = _image_properties(response["ImageProperties"])
        if "faces" in self.features:
            faces = self._call("detect_faces", Image=image, Attributes=["DEFAULT"])
            details["faces"] = [
                {"confidence": round(face["Confidence"], 2), "bounding_box": face["BoundingBox"]}
                for face in faces.get("FaceDetails", [])
            ]
        if "text" in self.features:
            text = self._call("detect_text", Image=image)
            details["text"] = [t["DetectedText"] for t in text.get("TextDetections", []) if t.get("Type") == "LINE"]
        if "moderation" in self.features:
            moderation = self._call("detect_moderation_labels", Image=image, MinConfidence=self.min_confidence)
            details["moderation"] = [
                {"name": m["Name"], "confidence": round(m["Confidence"], 2), "parent": m.get("ParentName", "")}
                for m in moderation.get("ModerationLabels", [])
            ]
        return Recognition(labels=labels, details=details)

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        # Throttles are retried here, with jitter; anything else is decided at once.
        return self._backoff.run(lambda: self._call_once(operation, **kwargs))

    def _call_once(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return call_aws(lambda: getattr(self._rekognition(), operation)(**kwargs), _translation(operation))


def _rejected(code: str, error: Any) -> InvalidImage:
    return InvalidImage(f"Rekognition rejected the image ({code}): {error.response['Error'].get('Message', '')}")


def _translation(operation: str) -> Translation:
    return Translation(
        failed=lambda code, e: (
            f"Rekognition {operation} failed ({code})" if code else f"Rekognition {operation} could not be reached: {e}"
        ),
        dependency="Rekognition",
        codes=dict.fromkeys(_PERMANENT, _rejected),
        throttled=lambda code: f"Rekognition {operation} was throttled ({code})",
    )


def _image_properties(properties: dict[str, Any]) -> dict[str, Any]:
    quality = properties.get("Quality", {})
    return {
        "brightness": quality.get("Brightness"),
        "sharpness": quality.get("Sharpness"),
        "contrast": quality.get("Contrast"),
        "dominant_colors": [
            {"hex": c.get("HexCode"), "name": c.get("SimplifiedColor"), "percent": c.get("PixelPercent")}
            for c in properties.get("DominantColors", [])
        ],
    }
