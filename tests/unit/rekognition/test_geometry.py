from __future__ import annotations

import pytest

from local.rekognition.geometry import Box, box_corners, polygon


def test_bounding_boxes_are_ratios_clipped_to_the_image():
    assert Box(-10, 20, 60, 300).to_bounding_box(100, 200) == pytest.approx(
        {"Width": 0.5, "Height": 0.9, "Left": 0.0, "Top": 0.1}
    )


def test_containment_union_and_scaling():
    outer, inner = Box(0, 0, 10, 10), Box(2, 3, 4, 5)
    assert outer.contains(inner) and not inner.contains(outer)
    assert inner.union(Box(8, 8, 4, 4)) == Box(2, 3, 10, 9)
    assert inner.scaled(2) == Box(4, 6, 8, 10)
    assert Box(5, 5, -1, 3).area == 0


def test_polygons_run_clockwise_from_the_top_left_as_ratios():
    points = polygon(box_corners(Box(10, 20, 30, 40)), 100, 100)
    assert points == [
        {"X": 0.1, "Y": 0.2},
        {"X": 0.4, "Y": 0.2},
        {"X": 0.4, "Y": 0.6},
        {"X": 0.1, "Y": 0.6},
    ]
    assert polygon([(-5, 150)], 100, 100) == [{"X": 0.0, "Y": 1.0}]
