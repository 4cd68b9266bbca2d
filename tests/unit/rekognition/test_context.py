"""Contextual labels: what labels reported together imply (context.py, label_contexts.csv)."""

from local.rekognition.context import SCENE_MEASURES, ContextRule, context_evidence, context_rules
from local.rekognition.label_choices import LabelChoices, shipped_choices
from local.rekognition.scene import SceneStatistics
from local.rekognition.taxonomy import default_taxonomy

ROAD = ContextRule("Road", ("Car", "Outdoors"), None, 65.0)
COUNTRYSIDE = ContextRule("Countryside", ("Mountain Range",), ("green", 0.05), 70.0)
SUNSET = ContextRule("Sunset", ("Sky",), ("warm", 0.05), 55.0)
NO_COLOUR = SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=0.0)


def greenery(share: float) -> SceneStatistics:
    return SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=share)


def test_a_rule_needs_every_evidence_label_reported():
    assert context_evidence({"Car": 90.0, "Outdoors": 80.0}, NO_COLOUR, [ROAD]) == {"Road": 65.0}
    assert context_evidence({"Car": 90.0}, NO_COLOUR, [ROAD]) == {}
    assert context_evidence({"Car": 90.0, "Outdoors": 49.0}, NO_COLOUR, [ROAD]) == {}


def test_a_rule_is_never_more_confident_than_its_weakest_evidence():
    assert context_evidence({"Car": 90.0, "Outdoors": 55.0}, NO_COLOUR, [ROAD]) == {"Road": 55.0}


def test_a_rule_can_ask_for_greenery():
    assert context_evidence({"Mountain Range": 80.0}, greenery(0.04), [COUNTRYSIDE]) == {}
    assert context_evidence({"Mountain Range": 80.0}, greenery(0.05), [COUNTRYSIDE]) == {"Countryside": 70.0}


def test_a_glowing_sky_is_a_sunset_and_a_blue_one_is_not():
    glowing = SceneStatistics(sky_top=0.2, sky_bottom=0.0, green=0.0, warm=0.3)
    assert context_evidence({"Sky": 90.0}, glowing, [SUNSET]) == {"Sunset": 55.0}
    assert context_evidence({"Sky": 90.0}, NO_COLOUR, [SUNSET]) == {}
    assert context_evidence({"Outdoors": 90.0}, glowing, [SUNSET]) == {}


def test_every_rule_names_labels_the_taxonomy_defines():
    labels = default_taxonomy().labels
    rules = context_rules()
    assert rules
    for rule in rules:
        assert rule.label in labels
        assert all(name in labels for name in rule.when)
        assert rule.scene is None or rule.scene[0] in SCENE_MEASURES
        assert 50.0 <= rule.confidence <= 100.0


def _labels(probabilities, scene, choices=None):
    import numpy as np

    from local.rekognition.labels import Classification, general_labels

    classification = Classification(probabilities, np.zeros((1000, 7, 7), dtype=np.float32))
    labels = general_labels(classification, [], [], scene, default_taxonomy(), 640, 480, choices)
    return {label.name: label.confidence for label in labels if label.confidence >= 50}


def test_a_car_under_open_sky_is_on_a_road_with_its_parents():
    from local.rekognition.scene import SceneStatistics

    from .test_taxonomy import one_hot

    # The rules and the blue-sky evidence are given here, not read from the fitted data files: the
    # fitting step may leave any of them out (label_choices.py), and this tests how rules chain.
    choices = LabelChoices(
        cuts=shipped_choices().cuts,
        scene_cuts={"Outdoors": 0.2},
        rules=(
            ROAD,
            ContextRule("Tarmac", ("Car", "Outdoors"), None, 60.0),
            ContextRule("Wheel", ("Car", "Outdoors"), None, 65.0),
        ),
        withheld=frozenset(),
    )
    sports_car = one_hot((817, 0.95))
    outside = _labels(sports_car, SceneStatistics(sky_top=0.9, sky_bottom=0.0, green=0.0), choices)
    assert {"Road", "Tarmac", "Wheel", "Machine", "Car", "Outdoors"} <= outside.keys()
    assert outside["Road"] <= outside["Outdoors"]
    indoors = _labels(sports_car, SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=0.0), choices)
    assert "Car" in indoors
    assert not {"Road", "Tarmac", "Wheel"} & indoors.keys()


def test_a_label_one_rule_gives_is_evidence_for_another():
    from .test_taxonomy import one_hot

    # A tram (class 829) beside a boathouse (class 449), which the classifier does not call City:
    # City from the rule for buildings with vehicles, then Metropolis, which needs City and a Vehicle.
    labels = _labels(one_hot((829, 0.5), (449, 0.5)), NO_COLOUR)
    assert {"Building", "Vehicle", "City", "Metropolis"} <= labels.keys()
