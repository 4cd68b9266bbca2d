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
