"""The label values a fitting step chooses (label_choices.py): how the service applies them, and
that the shipped data files hold a consistent choice."""

from __future__ import annotations

from local.rekognition.context import ContextRule, candidate_rules, context_rules
from local.rekognition.label_choices import LabelChoices, shipped_choices
from local.rekognition.labels import label_confidences, with_context
from local.rekognition.scene import SceneStatistics
from local.rekognition.taxonomy import default_taxonomy

from .test_taxonomy import TABBY, one_hot

NO_COLOR = SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=0.0)


def test_rules_chain_until_none_adds_anything():
    # Each rule needs the label the one before gives: six rounds, more than any fixed small count.
    chain = tuple(ContextRule(f"Link {i + 1}", (f"Link {i}",), None, 80.0) for i in range(6))
    confidences = with_context({"Link 0": 90.0}, NO_COLOR, default_taxonomy(), chain)
    assert {f"Link {i}" for i in range(7)} <= confidences.keys()


def test_a_withheld_label_is_never_reported_but_its_parents_are():
    choices = LabelChoices(cuts={}, scene_cuts={}, rules=(), withheld=frozenset({"Cat"}))
    confidences = label_confidences(
        default_taxonomy().confidences(one_hot((TABBY, 1.0))), [], [], NO_COLOR, default_taxonomy(), 640, 480, choices
    )
    assert "Cat" not in confidences
    assert confidences["Mammal"] >= 90


def test_only_kept_rules_apply():
    kept = context_rules()
    assert all(rule.kept for rule in kept)
    assert set(kept) < set(candidate_rules())  # the fitting step left some candidates out
    assert shipped_choices().rules == kept


def test_the_shipped_choice_names_known_labels_and_sensible_values():
    labels = default_taxonomy().labels
    choices = shipped_choices()
    assert all(label in labels and 0 < cut < 50 for label, cut in choices.cuts.items())
    assert all(label in labels and 0 < least < 1 for label, least in choices.scene_cuts.items())
    assert choices.withheld <= labels.keys()
    assert not {"Person", "Cat", "Animal", "Outdoors"} & choices.withheld
