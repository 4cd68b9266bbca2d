"""The label taxonomy: generated data kept in step with its sources, and the confidence rules."""

from __future__ import annotations

import numpy as np
import pytest

from local.rekognition import build_taxonomy as builder
from local.rekognition.taxonomy import LabelInfo, default_taxonomy, propagate_to_parents

TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
GOLDEN_RETRIEVER, LABRADOR = 207, 208
ESPRESSO, MISSILE, PROJECTILE, SPACE_SHUTTLE = 967, 657, 744, 812


def one_hot(*weighted: tuple[int, float]) -> np.ndarray:
    probabilities = np.zeros(1000, dtype=np.float32)
    for index, weight in weighted:
        probabilities[index] = weight
    return probabilities


def test_the_committed_taxonomy_json_is_what_the_csv_files_build():
    built = builder.render(
        builder.build(builder.imagenet_class_names(), builder.read_label_definitions(), builder.read_class_rules())
    )
    assert builder.TAXONOMY_JSON.read_text(encoding="utf-8") == built, "run: python -m local.rekognition.build_taxonomy"


def test_the_examples_map_as_rekognition_names_them():
    taxonomy = default_taxonomy()
    assert taxonomy.labels["Cat"].parents == ("Pet", "Mammal", "Animal")
    assert taxonomy.labels["Cat"].categories == ("Animals and Pets",)
    assert {"Coffee", "Beverage"} <= set(taxonomy.labels["Espresso"].parents)
    assert "Food and Beverage" in taxonomy.labels["Cup"].categories
    assert taxonomy.labels["Person"].aliases == ("Human",)
    assert "Spaceship" in taxonomy.labels["Space Shuttle"].parents


@pytest.mark.parametrize(
    ("class_name", "label"),
    [
        ("tabby cat", "Tabby Cat"),
        ("kite (bird of prey)", "Kite"),
        ("cardboard box / carton", "Cardboard Box"),
        ("iPod", "iPod"),
        ("CRT monitor", "CRT Monitor"),
        ("mortar and pestle", "Mortar and Pestle"),
        ("ford model t", "Ford Model T"),
    ],
)
def test_imagenet_names_become_title_case_labels(class_name, label):
    assert builder.label_name_from_class(class_name) == label


def _definitions(*rows):
    return {name: builder.LabelDefinition(name, parents, categories, []) for name, parents, categories in rows}


@pytest.mark.parametrize(
    ("definitions", "rules", "message"),
    [
        (_definitions(("Animal", [], ["Animals and Pets"])), {0: ["Dog"]}, "undefined label 'Dog'"),
        (_definitions(("Animal", [], ["Animals and Pets"])), {}, "without a rule"),
        (
            _definitions(("A", ["B"], ["X"]), ("B", ["A"], ["X"])),
            {0: ["A"]},
            "its own ancestor",
        ),
        (_definitions(("Thing", [], [])), {0: ["Thing"]}, "no category"),
        (_definitions(("Animal", [], ["Animals and Pets"])), {0: ["Animal", "@Sports"]}, "needs '\\*'"),
    ],
)
def test_inconsistent_sources_are_refused(definitions, rules, message):
    with pytest.raises(builder.TaxonomyError, match=message):
        builder.build(["tench"], definitions, rules)


def test_an_awkward_own_name_must_be_mapped_by_hand():
    with pytest.raises(builder.TaxonomyError, match="awkward"):
        builder.build(["bell or wind chime"], _definitions(("Thing", [], ["X"])), {0: ["*", "Thing"]})


def test_a_uniform_guess_earns_no_confidence_even_for_broad_labels():
    confidences = default_taxonomy().confidences(np.full(1000, 1 / 1000, dtype=np.float32))
    assert max(confidences.values(), default=0.0) < 5


def test_a_certain_class_gives_its_labels_and_their_parents():
    confidences = default_taxonomy().confidences(one_hot((TABBY, 1.0)))
    assert confidences["Cat"] == pytest.approx(100, abs=0.1)
    for parent in ("Pet", "Mammal", "Animal"):
        assert confidences[parent] == confidences["Cat"]
    assert "Dog" not in confidences


def test_probability_pools_across_the_classes_of_one_label():
    confidences = default_taxonomy().confidences(one_hot((TABBY, 0.3), (TIGER_CAT, 0.3), (EGYPTIAN_CAT, 0.3)))
    assert confidences["Cat"] == pytest.approx(100 * np.sqrt((0.9 - 0.005) / 0.995), abs=0.1)
    rockets = default_taxonomy().confidences(one_hot((MISSILE, 0.3), (PROJECTILE, 0.3), (SPACE_SHUTTLE, 0.2)))
    assert rockets["Rocket"] > rockets["Spaceship"] > 0


def test_a_class_listing_several_labels_gives_each_of_them():
    confidences = default_taxonomy().confidences(one_hot((ESPRESSO, 0.9)))
    assert confidences["Espresso"] == pytest.approx(100 * np.sqrt(0.9), abs=0.1)
    assert confidences["Cup"] == pytest.approx(100 * np.sqrt(0.9), abs=0.1)


def test_separate_dog_breeds_add_up_to_a_confident_dog():
    confidences = default_taxonomy().confidences(one_hot((GOLDEN_RETRIEVER, 0.45), (LABRADOR, 0.45)))
    assert confidences["Golden Retriever"] < 70
    assert confidences["Dog"] > 90
    assert confidences["Animal"] == confidences["Dog"]


def test_propagation_raises_parents_but_never_lowers_them():
    labels = {
        "Cat": LabelInfo("Cat", ("Pet", "Animal"), (), ()),
        "Pet": LabelInfo("Pet", ("Animal",), (), ()),
        "Animal": LabelInfo("Animal", (), (), ()),
    }
    assert propagate_to_parents({"Cat": 80.0, "Animal": 90.0}, labels) == {"Cat": 80.0, "Pet": 80.0, "Animal": 90.0}


LAKESHORE, ALP = 975, 970


def test_scene_classes_give_the_labels_rekognition_names_a_scene_by():
    shore = default_taxonomy().confidences(one_hot((LAKESHORE, 0.9)))
    assert {"Shoreline", "Lake", "Water", "Scenery", "Nature", "Outdoors"} <= shore.keys()
    assert "Lakeshore" not in shore  # an ImageNet name Rekognition does not use
    mountain = default_taxonomy().confidences(one_hot((ALP, 0.9)))
    assert {"Mountain", "Mountain Range", "Landscape", "Scenery", "Sky", "Nature", "Outdoors"} <= mountain.keys()


def test_labels_only_the_detectors_and_colours_emit_are_in_the_taxonomy():
    labels = default_taxonomy().labels
    for name in ("Person", "Face", "Head", "Portrait", "Clothing", "Plant", "Tree"):
        assert name in labels
    assert "Person" in labels["Portrait"].parents
