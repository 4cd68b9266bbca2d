"""Head pose and person boxes derived from face landmarks."""

from __future__ import annotations

import math

import pytest

from local.rekognition.faces import estimate_pose, person_box
from local.rekognition.geometry import Box

FRONTAL = {
    "eyeLeft": (40.0, 50.0),
    "eyeRight": (60.0, 50.0),
    "nose": (50.0, 60.0),
    "mouthLeft": (42.0, 70.0),
    "mouthRight": (58.0, 70.0),
}


def rotated(landmarks, degrees, center=(50.0, 60.0)):
    angle = math.radians(degrees)
    cx, cy = center
    return {
        name: (
            cx + (x - cx) * math.cos(angle) - (y - cy) * math.sin(angle),
            cy + (x - cx) * math.sin(angle) + (y - cy) * math.cos(angle),
        )
        for name, (x, y) in landmarks.items()
    }


def test_a_frontal_face_has_no_pose():
    assert estimate_pose(FRONTAL) == pytest.approx({"Roll": 0, "Yaw": 0, "Pitch": 0}, abs=1e-6)


@pytest.mark.parametrize("degrees", [-30, 15, 45])
def test_roll_is_the_tilt_of_the_eyes_and_leaves_yaw_and_pitch_alone(degrees):
    pose = estimate_pose(rotated(FRONTAL, degrees))
    assert pose["Roll"] == pytest.approx(degrees, abs=1e-6)
    assert pose["Yaw"] == pytest.approx(0, abs=1e-6) and pose["Pitch"] == pytest.approx(0, abs=1e-6)


def test_a_nose_off_centre_means_a_turned_head():
    right = estimate_pose({**FRONTAL, "nose": (55.0, 60.0)})
    left = estimate_pose({**FRONTAL, "nose": (45.0, 60.0)})
    assert right["Yaw"] > 20 and left["Yaw"] == pytest.approx(-right["Yaw"])


def test_a_nose_near_the_mouth_means_looking_down():
    down = estimate_pose({**FRONTAL, "nose": (50.0, 66.0)})
    up = estimate_pose({**FRONTAL, "nose": (50.0, 54.0)})
    assert down["Pitch"] < -20 and up["Pitch"] > 20


def test_a_person_box_holds_the_face_and_stays_in_the_image():
    face = Box(179, 59, 89, 114)
    person = person_box(face, 512, 512)
    assert person.contains(face)
    assert person.left >= 0 and person.top >= 0 and person.right <= 512 and person.bottom <= 512
    assert person.width == pytest.approx(3 * face.width) and person.bottom == 512
    at_the_edge = person_box(Box(0, 0, 50, 50), 100, 100)
    assert at_the_edge.left == 0 and at_the_edge.right <= 100
