"""Color statistics of a scene and the label evidence they give."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from local.rekognition.scene import SceneStatistics, scene_evidence, scene_statistics

SKY_BLUE, LEAF_GREEN, CONCRETE = (110, 160, 230), (60, 130, 40), (128, 128, 128)
SUNSET_ORANGE, SHADOW = (240, 120, 30), (20, 15, 25)
# The shares at which each label's evidence starts, given here rather than read from the fitted
# scene_cuts.csv: the fitting step may leave any of them out (label_choices.py).
CUTS = {"Plant": 0.05, "Outdoors": 0.2, "Tree": 0.05}


def picture(top: tuple[int, int, int], bottom: tuple[int, int, int], size: int = 300) -> Image.Image:
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    pixels[: size // 2] = top
    pixels[size // 2 :] = bottom
    return Image.fromarray(pixels)


def test_blue_above_green_is_sky_and_foliage():
    statistics = scene_statistics(picture(SKY_BLUE, LEAF_GREEN))
    assert statistics.sky_top == pytest.approx(1.0)
    assert statistics.green == pytest.approx(0.5, abs=0.03)


def test_grey_has_neither_sky_nor_foliage():
    statistics = scene_statistics(picture(CONCRETE, CONCRETE))
    assert statistics == SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=0.0)


def test_an_orange_sky_over_shadow_is_warm_and_dark():
    statistics = scene_statistics(picture(SUNSET_ORANGE, SHADOW))
    assert statistics.warm == pytest.approx(0.5, abs=0.03)
    assert statistics.dark == pytest.approx(0.5, abs=0.03)
    assert statistics.sky_top == statistics.green == 0.0


def test_no_color_evidence_gives_no_labels():
    assert scene_evidence(SceneStatistics(0.0, 0.0, 0.0), nature=0.0, cuts=CUTS) == {}


def test_foliage_gives_plant_growing_with_its_share():
    some = scene_evidence(SceneStatistics(0.0, 0.0, 0.1), nature=0.0, cuts=CUTS)["Plant"]
    more = scene_evidence(SceneStatistics(0.0, 0.0, 0.3), nature=0.0, cuts=CUTS)["Plant"]
    assert 50 <= some < more


def test_foliage_is_trees_only_in_a_nature_scene():
    assert "Tree" not in scene_evidence(SceneStatistics(0.0, 0.0, 0.3), nature=0.0, cuts=CUTS)
    assert "Tree" in scene_evidence(SceneStatistics(0.0, 0.0, 0.3), nature=80.0, cuts=CUTS)
    # A blue top is itself evidence of open air.
    assert "Tree" in scene_evidence(SceneStatistics(0.9, 0.0, 0.3), nature=0.0, cuts=CUTS)


def test_a_blue_top_means_outdoors_but_is_not_reported_as_sky():
    evidence = scene_evidence(SceneStatistics(0.9, 0.0, 0.0), nature=0.0, cuts=CUTS)
    assert evidence["Outdoors"] == evidence["Nature"] >= 50
    assert "Sky" not in evidence
