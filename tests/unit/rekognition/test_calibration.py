"""Per-label calibration of classifier confidences."""

from __future__ import annotations

import pytest

from local.rekognition.calibration import calibrate, calibrated, label_cuts

CUTS = {"Outdoors": 10.0}


def test_a_label_s_cut_reads_fifty_and_the_ends_stay_put():
    assert calibrated("Outdoors", 10.0, CUTS) == pytest.approx(50)
    assert calibrated("Outdoors", 0.0, CUTS) == pytest.approx(0)
    assert calibrated("Outdoors", 100.0, CUTS) == pytest.approx(100)


def test_calibration_keeps_the_order_within_a_label():
    values = [calibrated("Outdoors", c, CUTS) for c in (2, 9, 11, 40, 90)]
    assert values == sorted(values)


def test_unlisted_labels_are_unchanged():
    assert calibrate({"Cat": 42.0, "Outdoors": 10.0}, CUTS) == {"Cat": pytest.approx(42), "Outdoors": pytest.approx(50)}


def test_the_shipped_cuts_lower_the_bar_only_for_known_labels():
    cuts = label_cuts()
    assert cuts["Outdoors"] < 50
    assert all(0 < cut <= 50 for cut in cuts.values())
