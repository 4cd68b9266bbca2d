"""The fitting step that chooses the label data (tests/bench/label_fitting.py), on made-up photos."""

from __future__ import annotations

from local.rekognition.scene import SceneStatistics
from tests.bench import label_fitting
from tests.bench.label_evidence import PhotoEvidence

NO_COLOR = SceneStatistics(sky_top=0.0, sky_bottom=0.0, green=0.0)


def photo(classified: dict[str, float]) -> PhotoEvidence:
    evidence = PhotoEvidence(probabilities=None, faces=[], people=[], scene=NO_COLOR, width=640, height=480)
    evidence.classified = classified  # what the classifier would have said, without the model
    return evidence


def test_the_folds_split_the_photos_the_same_way_every_time():
    names = [f"photo{i}.jpg" for i in range(23)]
    folds = label_fitting.folds(names)
    assert len(folds) == label_fitting.FOLDS
    assert sorted(name for fold in folds for name in fold) == sorted(names)
    assert folds == label_fitting.folds(list(reversed(names)))


def test_a_cut_is_lowered_only_where_the_label_stays_right_half_the_time():
    # Outdoors scored 15 is right 9 times in 10; Bridge scored 15 is right 2 times in 10.
    photos = {f"p{i}": photo({"Outdoors": 15.0, "Bridge": 15.0}) for i in range(10)}
    wanted = {f"p{i}": {"outdoors"} | ({"bridge"} if i < 2 else set()) for i in range(10)}
    wanted["p9"] = set()
    choices = label_fitting.fit(photos, wanted)
    assert choices.cuts["Outdoors"] == 10.0
    assert "Bridge" not in choices.cuts


def test_a_label_wrong_nearly_always_is_withheld():
    photos = {f"p{i}": photo({"Bridge": 95.0}) for i in range(10)}
    wanted = {f"p{i}": {"bridge"} if i < 2 else set() for i in range(10)}
    assert "Bridge" in label_fitting.fit(photos, wanted).withheld
    wanted = {f"p{i}": {"bridge"} if i < 5 else set() for i in range(10)}
    assert "Bridge" not in label_fitting.fit(photos, wanted).withheld
