"""NudeNet parts and the open_nsfw score expressed in Rekognition's moderation taxonomy."""

from __future__ import annotations

from local.rekognition.moderation import HIERARCHY, moderation_labels


def as_table(labels):
    return {label.name: (round(label.confidence, 1), label.parent, label.level) for label in labels}


def test_a_safe_image_reports_only_a_low_explicit_score():
    assert as_table(moderation_labels(0.01, [("FACE_FEMALE", 0.9), ("FEET_EXPOSED", 0.8)])) == {
        "Explicit": (1.0, "", 1)
    }


def test_an_exposed_part_confirmed_by_the_whole_image_score_is_explicit_with_its_ancestors():
    table = as_table(moderation_labels(0.9, [("FEMALE_BREAST_EXPOSED", 0.9)]))
    assert table["Exposed Female Nipple"] == (90.0, "Explicit Nudity", 3)
    assert table["Explicit Nudity"] == (90.0, "Explicit", 2)
    assert table["Explicit"] == (90.0, "", 1)


def test_an_exposed_part_the_whole_image_score_does_not_confirm_stays_low():
    # The part detector alone calls the espresso photo "exposed buttocks" at 0.30.
    table = as_table(moderation_labels(0.017, [("BUTTOCKS_EXPOSED", 0.30)]))
    assert table["Exposed Buttocks or Anus"][0] < 10


def test_covered_parts_are_swimwear_or_underwear_without_confirmation():
    table = as_table(moderation_labels(0.05, [("FEMALE_BREAST_COVERED", 0.8)]))
    assert table["Female Swimwear or Underwear"] == (80.0, "Swimwear or Underwear", 2)
    assert table["Swimwear or Underwear"] == (80.0, "", 1)


def test_labels_are_ordered_by_confidence_and_every_parent_is_in_the_hierarchy():
    labels = moderation_labels(0.95, [("MALE_GENITALIA_EXPOSED", 0.6), ("BUTTOCKS_COVERED", 0.7)])
    assert [label.confidence for label in labels] == sorted((label.confidence for label in labels), reverse=True)
    for label in labels:
        assert HIERARCHY[label.name] == (label.parent, label.level)
        assert label.parent == "" or label.parent in {other.name for other in labels}


def test_without_nudenet_only_the_whole_image_score_is_used(monkeypatch):
    import sys

    from local.rekognition import moderation

    monkeypatch.setitem(sys.modules, "nudenet", None)  # as if not installed
    assert moderation._part_detector() is None
