"""Image quality, dominant colours and the foreground mask, on images made here."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from local.rekognition.colors import css_color_name, hex_code, rgb_to_lab, simplified_color
from local.rekognition.geometry import Box
from local.rekognition.properties import dominant_colors, image_properties, quality, subject_mask


def checkerboard(size=256, cell=8, low=40, high=215) -> np.ndarray:
    ys, xs = np.indices((size, size))
    board = np.where(((xs // cell) + (ys // cell)) % 2 == 0, low, high).astype(np.uint8)
    return np.repeat(board[..., None], 3, axis=2)


def test_brightness_follows_the_mean_level():
    dark, light = np.full((50, 50, 3), 30, np.uint8), np.full((50, 50, 3), 220, np.uint8)
    assert quality(dark)["Brightness"] < 15 < 85 < quality(light)["Brightness"]


def test_contrast_follows_the_spread_of_levels():
    assert quality(np.full((50, 50, 3), 128, np.uint8))["Contrast"] == 0
    assert quality(checkerboard(low=100, high=150))["Contrast"] < quality(checkerboard())["Contrast"]
    assert quality(checkerboard(low=0, high=255))["Contrast"] == pytest.approx(100, abs=0.5)


def test_sharpness_drops_with_blur_and_is_zero_when_flat():
    sharp = checkerboard()
    blurred = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(3)))
    assert quality(np.full((64, 64, 3), 90, np.uint8))["Sharpness"] == 0
    assert 0 < quality(blurred)["Sharpness"] < quality(sharp)["Sharpness"] <= 100


def test_sharpness_does_not_depend_on_the_upload_size():
    sharp = Image.fromarray(checkerboard(size=512, cell=16))
    small = np.asarray(sharp.resize((256, 256), Image.Resampling.NEAREST))
    large = np.asarray(sharp.resize((2048, 2048), Image.Resampling.NEAREST))
    assert quality(small)["Sharpness"] == pytest.approx(quality(large)["Sharpness"], abs=5)


def test_dominant_colours_are_counted_named_and_ordered():
    pixels = np.zeros((100, 100, 3), np.uint8)
    pixels[:, :75] = (255, 0, 0)
    pixels[:, 75:] = (0, 0, 255)
    colors = dominant_colors(pixels, max_colors=5)
    assert [(c["CSSColor"], c["SimplifiedColor"]) for c in colors] == [("red", "red"), ("blue", "blue")]
    assert [c["PixelPercent"] for c in colors] == pytest.approx([75, 25], abs=2)
    assert colors[0]["HexCode"] == "#FF0000" and (colors[0]["Red"], colors[0]["Green"], colors[0]["Blue"]) == (
        255,
        0,
        0,
    )
    assert dominant_colors(pixels, max_colors=1)[0]["PixelPercent"] == 100
    assert dominant_colors(pixels, max_colors=0) == []


def test_a_mask_limits_the_colours_to_its_pixels():
    pixels = np.zeros((100, 100, 3), np.uint8)
    pixels[:, :50] = (0, 128, 0)
    pixels[:, 50:] = (255, 255, 255)
    mask = np.zeros((100, 100), bool)
    mask[:, :50] = True
    assert [c["CSSColor"] for c in dominant_colors(pixels, 3, mask)] == ["green"]


@pytest.mark.parametrize(
    ("rgb", "css", "simple"),
    [
        ((0, 0, 0), "black", "black"),
        ((255, 255, 255), "white", "white"),
        ((128, 128, 128), "grey", "grey"),
        ((255, 165, 0), "orange", "orange"),
        ((255, 255, 0), "yellow", "yellow"),
        ((0, 128, 0), "green", "green"),
        ((128, 0, 128), "purple", "purple"),
        ((255, 192, 203), "pink", "pink"),
        ((139, 69, 19), "saddlebrown", "brown"),
    ],
)
def test_colours_are_named(rgb, css, simple):
    assert css_color_name(rgb) == css
    assert simplified_color(rgb) == simple


def test_lab_and_hex_helpers():
    assert rgb_to_lab(np.array([255, 255, 255]))[0] == pytest.approx(100, abs=0.1)
    assert rgb_to_lab(np.array([0, 0, 0]))[0] == pytest.approx(0, abs=0.1)
    assert hex_code((1, 171, 255)) == "#01ABFF"


def test_the_subject_mask_comes_from_the_heatmap_and_people():
    heat = np.zeros((7, 7), np.float32)
    heat[2:5, 2:5] = 1.0
    mask = subject_mask(heat, [], 140, 140)
    assert mask is not None and mask[70, 70] and not mask[5, 5] and 0.1 < mask.mean() < 0.5
    with_person = subject_mask(None, [Box(0, 0, 20, 40)], 100, 100)
    assert with_person is not None and with_person[10, 10] and with_person.mean() == pytest.approx(0.08)
    assert subject_mask(None, [], 100, 100) is None
    assert subject_mask(np.ones((7, 7), np.float32), [], 100, 100) is None  # everything is not a foreground


def test_foreground_and_background_only_with_a_mask():
    pixels = checkerboard()
    assert set(image_properties(pixels, 3)) == {"Quality", "DominantColors"}
    mask = np.zeros(pixels.shape[:2], bool)
    mask[64:192, 64:192] = True
    properties = image_properties(pixels, 3, mask)
    assert set(properties["Foreground"]) == {"Quality", "DominantColors"}
    assert set(properties["Foreground"]["Quality"]) == {"Brightness", "Sharpness"}


def test_properties_of_a_large_image_match_those_of_its_smaller_copy():
    small = checkerboard(size=512, cell=32)
    large = np.asarray(Image.fromarray(small).resize((2048, 2048), Image.Resampling.NEAREST))
    small_quality, large_quality = image_properties(small, 2)["Quality"], image_properties(large, 2)["Quality"]
    for name in ("Brightness", "Contrast", "Sharpness"):
        assert large_quality[name] == pytest.approx(small_quality[name], abs=5), name
