"""Contextual labels: what labels reported together imply (context.py, label_contexts.csv)."""

import pytest

from local.rekognition.context import ContextRule, context_evidence, context_rules
from local.rekognition.taxonomy import default_taxonomy

pytestmark = pytest.mark.unit

ROAD = ContextRule("Road", ("Car", "Outdoors"), 0.0, 65.0)
COUNTRYSIDE = ContextRule("Countryside", ("Mountain Range",), 0.05, 70.0)


def test_a_rule_needs_every_evidence_label_reported():
    assert context_evidence({"Car": 90.0, "Outdoors": 80.0}, 0.0, [ROAD]) == {"Road": 65.0}
    assert context_evidence({"Car": 90.0}, 0.0, [ROAD]) == {}
    assert context_evidence({"Car": 90.0, "Outdoors": 49.0}, 0.0, [ROAD]) == {}


def test_a_rule_is_never_more_confident_than_its_weakest_evidence():
    assert context_evidence({"Car": 90.0, "Outdoors": 55.0}, 0.0, [ROAD]) == {"Road": 55.0}


def test_a_rule_can_ask_for_greenery():
    assert context_evidence({"Mountain Range": 80.0}, 0.04, [COUNTRYSIDE]) == {}
    assert context_evidence({"Mountain Range": 80.0}, 0.05, [COUNTRYSIDE]) == {"Countryside": 70.0}


def test_every_rule_names_labels_the_taxonomy_defines():
    labels = default_taxonomy().labels
    rules = context_rules()
    assert rules
    for rule in rules:
        assert rule.label in labels
        assert all(name in labels for name in rule.when)
        assert 50.0 <= rule.confidence <= 100.0


def _labels(probabilities, scene):
    import numpy as np

    from local.rekognition.labels import Classification, general_labels

    classification = Classification(probabilities, np.zeros((1000, 7, 7), dtype=np.float32))
    labels = general_labels(classification, [], [], scene, default_taxonomy(), 640, 480)
    return {label.name: label.confidence for label in labels if label.confidence >= 50}


def test_a_car_under_open_sky_is_on_a_road_with_its_parents():
    from local.rekognition.scene import SceneStatistics

    from .test_taxonomy import one_hot

    sports_car = one_hot((817, 0.95))
    outside = _labels(sports_car, SceneStatistics(sky_top=0.9, sky_bottom=0.0, green=0.0))
    assert {"Road", "Tarmac", "Wheel", "Machine", "Car", "Outdoors"} <= outside.keys()
    assert outside["Road"] <= outside["Outdoors"]
    indoors = _labels(sports_car, SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=0.0))
    assert "Car" in indoors
    assert not {"Road", "Tarmac", "Wheel"} & indoors.keys()
