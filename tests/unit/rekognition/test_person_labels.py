"""Labels and Person instances from faces and bodies: which size of person implies what."""

from __future__ import annotations

import pytest

from local.rekognition.faces import Face
from local.rekognition.geometry import Box
from local.rekognition.person_labels import (
    MIN_BODY_SCORE,
    SURE_BODY_SCORE,
    body_confidence,
    person_evidence,
    person_instances,
)

WIDTH, HEIGHT = 1000, 800


def face(left: float, top: float, side: float, confidence: float = 0.99) -> Face:
    return Face(Box(left, top, side, side), confidence, {})


def test_a_body_without_a_face_is_a_person_with_a_box():
    body = Box(400, 200, 150, 500)
    evidence = person_evidence([], [(body, 0.9)], WIDTH, HEIGHT)
    assert evidence["Person"] == pytest.approx(body_confidence(0.9))
    assert "Face" not in evidence
    assert person_instances([], [(body, 0.9)], WIDTH, HEIGHT) == [(body, body_confidence(0.9))]


def test_a_weak_body_hit_is_not_reported():
    weak = (Box(400, 200, 150, 500), MIN_BODY_SCORE - 0.05)
    assert person_evidence([], [weak], WIDTH, HEIGHT) == {}
    assert person_instances([], [weak], WIDTH, HEIGHT) == []


def test_body_confidence_rises_from_its_floor_to_a_hundred():
    assert body_confidence(MIN_BODY_SCORE) == pytest.approx(50)
    assert body_confidence(MIN_BODY_SCORE) < body_confidence(SURE_BODY_SCORE) == pytest.approx(60)
    assert body_confidence(SURE_BODY_SCORE) < body_confidence(0.7) < body_confidence(1.0) == pytest.approx(100)


def test_a_weak_body_hit_is_a_person_at_low_confidence_but_no_group_or_clothing():
    weak = [(Box(100 + 250 * i, 100, 200, 650), (MIN_BODY_SCORE + SURE_BODY_SCORE) / 2) for i in range(3)]
    evidence = person_evidence([], weak, WIDTH, HEIGHT)
    assert 50 <= evidence["Person"] < 60
    assert not {"People", "Clothing"} & evidence.keys()
    assert len(person_instances([], weak, WIDTH, HEIGHT)) == 3


def test_a_weak_body_hit_within_a_person_found_adds_no_second_instance():
    weak = (MIN_BODY_SCORE + SURE_BODY_SCORE) / 2
    on_the_face = (Box(300, 100, 300, 650), weak)
    instances = person_instances([face(410, 120, 80)], [on_the_face], WIDTH, HEIGHT)
    assert [confidence for _, confidence in instances] == [pytest.approx(99)]
    an_arm = (Box(300, 300, 100, 300), weak)
    instances = person_instances([], [(Box(280, 100, 300, 650), 0.9), an_arm], WIDTH, HEIGHT)
    assert [confidence for _, confidence in instances] == [pytest.approx(body_confidence(0.9))]


def test_a_tiny_face_makes_a_person_but_not_a_face_or_portrait():
    evidence = person_evidence([face(10, 10, 20)], [], WIDTH, HEIGHT)  # 0.05 % of the frame
    assert evidence == {"Person": pytest.approx(99)}


def test_a_large_face_is_a_face_and_a_portrait():
    evidence = person_evidence([face(300, 100, 300)], [], WIDTH, HEIGHT)
    assert evidence["Face"] == evidence["Portrait"] == pytest.approx(99)


def test_clothing_is_named_only_for_a_person_filling_part_of_the_frame():
    small = Box(10, 10, 30, 80)
    large = Box(300, 100, 300, 650)
    assert "Clothing" not in person_evidence([], [(small, 0.9)], WIDTH, HEIGHT)
    assert "Clothing" in person_evidence([], [(large, 0.9)], WIDTH, HEIGHT)


def test_a_face_inside_a_detected_body_adds_no_second_instance():
    body = Box(300, 100, 300, 650)
    own_face = face(410, 120, 80)
    stranger = face(850, 50, 60)
    instances = person_instances([own_face, stranger], [(body, 0.9)], WIDTH, HEIGHT)
    assert len(instances) == 2
    assert instances[0] == (body, body_confidence(0.9))
    assert instances[1][0].left > 700  # the stranger's estimated body, not the detected one


def test_three_people_are_a_group_and_two_are_not():
    bodies = [(Box(100 + 250 * i, 200, 150, 500), 0.9) for i in range(3)]
    assert "People" not in person_evidence([], bodies[:2], WIDTH, HEIGHT)
    group = person_evidence([], bodies, WIDTH, HEIGHT)
    assert 50 <= group["People"] <= group["Person"]
