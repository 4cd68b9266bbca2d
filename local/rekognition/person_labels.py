"""Labels and Person instances from the two people detectors: faces (MTCNN) and bodies (SSDLite).

A body is found without a face (turned away, small, hidden) and a face without a body (a close-up
cut at the shoulders), so either is evidence of a Person. What else a person implies is set by how
much of the frame they fill: Rekognition names the clothing of people it sees at some size and calls
a large face a portrait, but does not for figures in a landscape.
"""

from __future__ import annotations

from .faces import Face, person_box
from .geometry import Box

# Body detector hits from SURE_BODY_SCORE on are people nearly nine times in ten (checked on photos),
# reported from 60 at that score up to 100 at a certain hit. Weaker hits, down to MIN_BODY_SCORE, are
# people a little under half the time (11 of 26 photos where nothing else found one; the rest are
# bollards, coats on hooks, statues): as often as other labels said at 50-60, which is how they are
# said. Only sure persons count towards a group or their clothing.
MIN_BODY_SCORE, SURE_BODY_SCORE = 0.05, 0.2
_WEAK_BODY_CONFIDENCE, _BODY_CONFIDENCE_FLOOR = 50.0, 60.0
# Share of the image the largest person must cover before their Clothing is named (figures in a
# landscape are not dressed, for Rekognition).
CLOTHING_MIN_AREA = 0.15
# Share of the image the largest face must cover before Rekognition names the Face, and calls the
# photo a Portrait; smaller faces are people in a scene.
PORTRAIT_MIN_AREA = 0.005
# Rekognition names People for a group: three or more persons found. A group agreed about half the
# time, so the label is said with at most this confidence.
PEOPLE_MIN_COUNT, PEOPLE_MAX_CONFIDENCE = 3, 60.0
# A face whose estimated body box overlaps a detected body this much is that body's face.
_SAME_PERSON_OVERLAP = 0.3
# A weak body hit lying this much inside a person already found is part of that person.
_PART_OF_PERSON = 0.5


def person_evidence(faces: list[Face], people: list[tuple[Box, float]], width: int, height: int) -> dict[str, float]:
    """Label name -> confidence (0-100) for Person, People, Face, Clothing and Portrait."""
    bodies = [(box, score) for box, score in people if score >= MIN_BODY_SCORE]
    evidence: dict[str, float] = {}
    if faces:
        face_confidence = 100.0 * max(face.confidence for face in faces)
        evidence["Person"] = face_confidence
        largest_face = max(face.box.area for face in faces) / (width * height)
        if largest_face >= PORTRAIT_MIN_AREA:
            evidence["Face"] = evidence["Portrait"] = face_confidence
    if bodies:
        evidence["Person"] = max(evidence.get("Person", 0.0), max(body_confidence(score) for _, score in bodies))
    instances = [i for i in person_instances(faces, people, width, height) if i[1] >= _BODY_CONFIDENCE_FLOOR]
    if instances:
        box, confidence = max(instances, key=lambda instance: instance[0].area)
        if box.area / (width * height) >= CLOTHING_MIN_AREA:
            evidence["Clothing"] = confidence
    if len(instances) >= PEOPLE_MIN_COUNT:
        confidences = sorted((confidence for _, confidence in instances), reverse=True)
        evidence["People"] = min(PEOPLE_MAX_CONFIDENCE, confidences[PEOPLE_MIN_COUNT - 1])
    return evidence


def person_instances(
    faces: list[Face], people: list[tuple[Box, float]], width: int, height: int
) -> list[tuple[Box, float]]:
    """Surely detected bodies, a box estimated from each face that belongs to none of them, then the
    weak body hits that are not mostly inside a person found already (a limb, a shadow, a flag)."""
    bodies = [(box.clipped(width, height), body_confidence(score)) for box, score in people if score >= MIN_BODY_SCORE]
    instances = [(box, confidence) for box, confidence in bodies if confidence >= _BODY_CONFIDENCE_FLOOR]
    for face in faces:
        estimated = person_box(face.box, width, height)
        if not any(_overlap(estimated, body) >= _SAME_PERSON_OVERLAP for body, _ in instances):
            instances.append((estimated, 100.0 * face.confidence))
    for box, confidence in bodies:
        if confidence < _BODY_CONFIDENCE_FLOOR and not any(_inside(box, i) >= _PART_OF_PERSON for i, _ in instances):
            instances.append((box, confidence))
    return instances


def body_confidence(score: float) -> float:
    """0-100 from a body detector score of at least MIN_BODY_SCORE: 50 to 60 below SURE_BODY_SCORE,
    60 to 100 above it."""
    if score < SURE_BODY_SCORE:
        weak_share = (score - MIN_BODY_SCORE) / (SURE_BODY_SCORE - MIN_BODY_SCORE)
        return _WEAK_BODY_CONFIDENCE + (_BODY_CONFIDENCE_FLOOR - _WEAK_BODY_CONFIDENCE) * weak_share
    return _BODY_CONFIDENCE_FLOOR + (100.0 - _BODY_CONFIDENCE_FLOOR) * (score - SURE_BODY_SCORE) / (
        1.0 - SURE_BODY_SCORE
    )


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union."""
    intersection = _intersection(a, b)
    union = a.area + b.area - intersection
    return intersection / union if union > 0 else 0.0


def _inside(a: Box, b: Box) -> float:
    """The share of `a` that lies inside `b`."""
    return _intersection(a, b) / a.area if a.area > 0 else 0.0


def _intersection(a: Box, b: Box) -> float:
    inner = Box.from_corners(max(a.left, b.left), max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom))
    return inner.area if inner.width > 0 and inner.height > 0 else 0.0
