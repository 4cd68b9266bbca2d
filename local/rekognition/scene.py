"""Cheap color statistics of a photo that hint at its scene: how much of the top is sky blue, how
much of the whole is foliage green, glowing orange or deep shadow. ImageNet has almost no scene
classes, so these carry much of the evidence for Sky, Vegetation, Plant and a low sun that the
classifier cannot give. A few milliseconds on a 64 x 64 thumbnail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

THUMBNAIL_SIDE = 64
# Hue in degrees, saturation and value in [0, 1]. Clear sky and its haze; leaves, grass, moss.
SKY_HUES, SKY_MIN_SATURATION, SKY_MIN_VALUE = (185.0, 250.0), 0.12, 0.35
GREEN_HUES, GREEN_MIN_SATURATION, GREEN_MIN_VALUE = (55.0, 170.0), 0.18, 0.12
# The reds, oranges and golds of a low sun (hue wraps through 0); and shadow too deep to show color.
WARM_HUES, WARM_MIN_SATURATION, WARM_MIN_VALUE = ((330.0, 360.0), (0.0, 45.0)), 0.35, 0.35
DARK_MAX_VALUE = 0.2
# The band at the top where sky would be, and below it the rest of the frame.
TOP_SHARE = 1.0 / 3.0
# Where each label's confidence rises from 50 (at the share of its color that scene_cuts.csv gives,
# chosen by a fitting step: label_choices.py) and the confidence it reaches this much share later.
# Only the start decides whether the label is reported; the rise orders confidences above 50.
# Rekognition names plants even when little of the frame is green (a pot, a hedge); blue above means
# outdoors about two times in three (blue walls and backdrops are the rest), and Rekognition names
# Sky itself too rarely for it to say Sky. Greenery in a photo that is otherwise nature (a
# landscape, a shore) is mostly trees, said at one confidence.
PLANT_RISE, PLANT_TOP = 0.3, 90.0
OPEN_AIR_RISE, OPEN_AIR_TOP = 0.6, 75.0
TREE_CONFIDENCE = 60.0


@dataclass(frozen=True)
class SceneStatistics:
    sky_top: float  # share of the top third that is sky blue
    sky_bottom: float  # share of the lower two thirds that is that blue (water, or more sky)
    green: float  # share of the whole image that is foliage green
    warm: float = 0.0  # share of the whole image that glows red to gold
    dark: float = 0.0  # share of the whole image in deep shadow


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
    warm = (_in(hue, WARM_HUES[0]) | _in(hue, WARM_HUES[1])) & (saturation >= WARM_MIN_SATURATION)
    warm &= value >= WARM_MIN_VALUE
    split = round(THUMBNAIL_SIDE * TOP_SHARE)
    return SceneStatistics(
        sky_top=float(sky[:split].mean()),
        sky_bottom=float(sky[split:].mean()),
        green=float(green.mean()),
        warm=float(warm.mean()),
        dark=float((value < DARK_MAX_VALUE).mean()),
    )


def _in(hue: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (hue >= bounds[0]) & (hue <= bounds[1])


def _ramp(share: float, low: float | None, rise: float, top: float) -> float:
    """0 below `low` or without one (no evidence), else 50 at `low` rising to `top` `rise` later."""
    if low is None or share < low:
        return 0.0
    return 50.0 + (top - 50.0) * min(1.0, (share - low) / rise)


def scene_evidence(
    statistics: SceneStatistics, nature: float, cuts: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Label confidences (0-100) the color statistics support; the taxonomy adds the parents.
    `nature` is the confidence of Nature from the other evidence (the classifier); `cuts` maps a
    label to the share of its color from which it is reported (the shipped scene_cuts.csv)."""
    if cuts is None:
        from .label_choices import shipped_choices

        cuts = shipped_choices().scene_cuts
    open_air = _ramp(statistics.sky_top, cuts.get("Outdoors"), OPEN_AIR_RISE, OPEN_AIR_TOP)
    nature = max(nature, open_air)
    tree_cut = cuts.get("Tree")
    evidence = {
        "Plant": _ramp(statistics.green, cuts.get("Plant"), PLANT_RISE, PLANT_TOP),
        "Outdoors": open_air,
        "Nature": open_air,
        "Tree": TREE_CONFIDENCE if tree_cut is not None and nature >= 50.0 and statistics.green >= tree_cut else 0.0,
    }
    return {label: confidence for label, confidence in evidence.items() if confidence > 0}
