"""Labels and Person instances from the two people detectors: faces (MTCNN) and bodies (SSDLite).

A body is found without a face (turned away, small, hidden) and a face without a body (a close-up
cut at the shoulders), so either is evidence of a Person. What else a person implies is set by how
much of the frame they fill: Rekognition names the clothing of people it sees at some size and calls
a large face a portrait, but does not for figures in a landscape.
"""

from __future__ import annotations

from .faces import Face, person_box
from .geometry import Box

# A body detector score maps to confidence as 100 * score; hits under this are not people often
# enough to report (checked on photos).
MIN_BODY_SCORE = 0.5
# Share of the image the largest person must cover before their Clothing is named.
CLOTHING_MIN_AREA = 0.08
# Share of the image the largest face must cover to make the photo a Portrait.
PORTRAIT_MIN_AREA = 0.03
# A face whose estimated body box overlaps a detected body this much is that body's face.
_SAME_PERSON_OVERLAP = 0.3


def person_evidence(faces: list[Face], people: list[tuple[Box, float]], width: int, height: int) -> dict[str, float]:
    """Label name -> confidence (0-100) for Person, Face, Clothing and Portrait."""
    bodies = [(box, score) for box, score in people if score >= MIN_BODY_SCORE]
    evidence: dict[str, float] = {}
    if faces:
        face_confidence = 100.0 * max(face.confidence for face in faces)
        evidence["Face"] = face_confidence
        evidence["Person"] = face_confidence
        largest_face = max(face.box.area for face in faces) / (width * height)
        if largest_face >= PORTRAIT_MIN_AREA:
            evidence["Portrait"] = face_confidence
    if bodies:
        evidence["Person"] = max(evidence.get("Person", 0.0), 100.0 * max(score for _, score in bodies))
    instances = person_instances(faces, people, width, height)
    if instances:
        box, confidence = max(instances, key=lambda instance: instance[0].area)
        if box.area / (width * height) >= CLOTHING_MIN_AREA:
            evidence["Clothing"] = confidence
    return evidence


def person_instances(
    faces: list[Face], people: list[tuple[Box, float]], width: int, height: int
) -> list[tuple[Box, float]]:
    """Detected bodies, plus a box estimated from each face that belongs to none of them."""
    bodies = [(box.clipped(width, height), 100.0 * score) for box, score in people if score >= MIN_BODY_SCORE]
    instances = list(bodies)
    for face in faces:
        estimated = person_box(face.box, width, height)
        if not any(_overlap(estimated, body) >= _SAME_PERSON_OVERLAP for body, _ in bodies):
            instances.append((estimated, 100.0 * face.confidence))
    return instances


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union."""
    inner = Box.from_corners(max(a.left, b.left), max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom))
    intersection = inner.area if inner.width > 0 and inner.height > 0 else 0.0
    union = a.area + b.area - intersection
    return intersection / union if union > 0 else 0.0
