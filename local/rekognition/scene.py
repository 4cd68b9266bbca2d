"""Cheap colour statistics of a photo that hint at its scene: how much of the top is sky blue, how
much of the whole is foliage green. ImageNet has almost no scene classes, so these carry much of
the evidence for Sky, Vegetation and Plant that the classifier cannot give. A few milliseconds on a
64 x 64 thumbnail."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THUMBNAIL_SIDE = 64
# Hue in degrees, saturation and value in [0, 1]. Clear sky and its haze; leaves, grass, moss.
SKY_HUES, SKY_MIN_SATURATION, SKY_MIN_VALUE = (185.0, 250.0), 0.12, 0.35
GREEN_HUES, GREEN_MIN_SATURATION, GREEN_MIN_VALUE = (55.0, 170.0), 0.18, 0.12
# The band at the top where sky would be, and below it the rest of the frame.
TOP_SHARE = 1.0 / 3.0
# (share at which a label is first reported at 50, share at which it reaches 95), hand-set and
# checked against recorded Rekognition answers on photos.
SKY_RAMP = (0.25, 0.7)
VEGETATION_RAMP = (0.25, 0.6)


@dataclass(frozen=True)
class SceneStatistics:
    sky_top: float  # share of the top third that is sky blue
    sky_bottom: float  # share of the lower two thirds that is that blue (water, or more sky)
    green: float  # share of the whole image that is foliage green


def scene_statistics(image) -> SceneStatistics:
    """`image` is a PIL RGB image of any size."""
    import cv2
    from PIL import Image

    thumbnail = image.resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    # OpenCV's 8-bit HSV: hue in half degrees (0-179), saturation and value in 0-255.
    channels = cv2.cvtColor(np.asarray(thumbnail), cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, saturation, value = channels[..., 0] * 2.0, channels[..., 1] / 255.0, channels[..., 2] / 255.0
    sky = _in(hue, SKY_HUES) & (saturation >= SKY_MIN_SATURATION) & (value >= SKY_MIN_VALUE)
    green = _in(hue, GREEN_HUES) & (saturation >= GREEN_MIN_SATURATION) & (value >= GREEN_MIN_VALUE)
    split = round(THUMBNAIL_SIDE * TOP_SHARE)
    return SceneStatistics(
        sky_top=float(sky[:split].mean()), sky_bottom=float(sky[split:].mean()), green=float(green.mean())
    )


def _in(hue: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (hue >= bounds[0]) & (hue <= bounds[1])


def _ramp(share: float, low: float, high: float) -> float:
    """0 below `low` (no evidence), else 50 at `low` rising to 95 at `high` and beyond."""
    if share < low:
        return 0.0
    return 50.0 + 45.0 * min(1.0, (share - low) / (high - low))


def scene_evidence(statistics: SceneStatistics) -> dict[str, float]:
    """Label confidences (0-100) the colour statistics support; the taxonomy adds the parents."""
    evidence = {
        "Sky": _ramp(statistics.sky_top, *SKY_RAMP),
        "Vegetation": _ramp(statistics.green, *VEGETATION_RAMP),
    }
    return {label: confidence for label, confidence in evidence.items() if confidence > 0}
