"""The emulated operations: validate the request, run the models, shape the response exactly as
botocore's output shapes describe it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import params
from .errors import RekognitionError
from .faces import LANDMARK_NAMES, estimate_pose
from .geometry import Box, polygon
from .models import ModelSet
from .moderation import MODERATION_MODEL_VERSION
from .properties import DEFAULT_MAX_DOMINANT_COLORS, dominant_colors, image_properties, quality, subject_mask
from .request_image import AnalysisImage, image_from_request
from .text import MAX_WORDS, TEXT_MODEL_VERSION, Line, line_from_words

LABEL_MODEL_VERSION = "3.0"
DEFAULT_LABELS_MIN_CONFIDENCE = 55.0
DEFAULT_MODERATION_MIN_CONFIDENCE = 50.0
LABEL_FEATURES = ("GENERAL_LABELS", "IMAGE_PROPERTIES")
FACE_ATTRIBUTES = (
    "DEFAULT",
    "ALL",
    "AGE_RANGE",
    "BEARD",
    "EMOTIONS",
    "EYE_DIRECTION",
    "EYEGLASSES",
    "EYES_OPEN",
    "GENDER",
    "MOUTH_OPEN",
    "MUSTACHE",
    "FACE_OCCLUDED",
    "SMILE",
    "SUNGLASSES",
)
MAX_FACES = 100
# The foreground is only worth separating when the classifier recognized something.
_SUBJECT_MIN_CONFIDENCE = DEFAULT_LABELS_MIN_CONFIDENCE

Operation = Callable[[dict, ModelSet], dict]


def _round(value: float, digits: int = 6) -> float:
    return round(float(value), digits)


def _bounding_box(box: Box, image: AnalysisImage) -> dict[str, float]:
    return {key: _round(value) for key, value in box.to_bounding_box(image.width, image.height).items()}


# --- DetectLabels -----------------------------------------------------------------------------


def detect_labels(request: dict, models: ModelSet) -> dict:
    max_labels = params.unsigned_integer(request, "MaxLabels", None)
    min_confidence = params.percent(request, "MinConfidence", DEFAULT_LABELS_MIN_CONFIDENCE)
    features = params.enum_list(request, "Features", LABEL_FEATURES, max_items=2) or ["GENERAL_LABELS"]
    settings = params.structure(request, "Settings")
    general = params.structure(settings, "GeneralLabels", "Settings.")
    path = "Settings.GeneralLabels."
    filters = {
        name: params.string_list(general, name, max_items=100, max_length=50, path=path)
        for name in (
            "LabelInclusionFilters",
            "LabelExclusionFilters",
            "LabelCategoryInclusionFilters",
            "LabelCategoryExclusionFilters",
        )
    }
    properties_settings = params.structure(settings, "ImageProperties", "Settings.")
    max_colors = params.unsigned_integer(
        properties_settings,
        "MaxDominantColors",
        DEFAULT_MAX_DOMINANT_COLORS,
        maximum=20,
        path="Settings.ImageProperties.",
    )
    image = image_from_request(request.get("Image"))

    from .labels import general_labels
    from .person_labels import person_instances
    from .scene import scene_statistics

    classification = models.get("classifier").classify(image.rgb)
    faces = models.get("faces").detect(image.pixels)
    people = models.get("people").detect(image.pixels)
    scene = scene_statistics(image.rgb) if "GENERAL_LABELS" in features else None
    labels = general_labels(classification, faces, people, scene, models.get("taxonomy"), image.width, image.height)
    with_properties = "IMAGE_PROPERTIES" in features
    response: dict[str, Any] = {"Labels": []}
    if "GENERAL_LABELS" in features:
        chosen = [label for label in labels if label.confidence >= min_confidence and _passes(label, filters)]
        if max_labels is not None:
            chosen = chosen[:max_labels]
        response["Labels"] = [_label_json(label, image, with_properties, max_colors) for label in chosen]
    response["LabelModelVersion"] = LABEL_MODEL_VERSION
    if with_properties:
        recognized = bool(labels) and labels[0].confidence >= _SUBJECT_MIN_CONFIDENCE
        heatmap = classification.subject_heatmap() if recognized else None
        bodies = [box for box, _ in person_instances(faces, people, image.width, image.height)]
        foreground = subject_mask(heatmap, bodies, image.width, image.height)
        response["ImageProperties"] = _rounded(image_properties(image.pixels, max_colors, foreground))
    return response


def _passes(label, filters: dict[str, list[str]]) -> bool:
    include, exclude = filters["LabelInclusionFilters"], filters["LabelExclusionFilters"]
    include_categories = filters["LabelCategoryInclusionFilters"]
    exclude_categories = filters["LabelCategoryExclusionFilters"]
    categories = set(label.info.categories)
    if include or include_categories:
        if label.name not in include and not categories.intersection(include_categories):
            return False
    if label.name in exclude or categories.intersection(exclude_categories):
        return False
    return True


def _label_json(label, image: AnalysisImage, with_colors: bool, max_colors: int) -> dict:
    instances = []
    for box, confidence in label.instances:
        instance: dict[str, Any] = {"BoundingBox": _bounding_box(box, image), "Confidence": _round(confidence)}
        if with_colors:
            instance["DominantColors"] = _rounded(dominant_colors(image.pixels[_pixel_slice(box)], max_colors))
        instances.append(instance)
    return {
        "Name": label.name,
        "Confidence": _round(min(label.confidence, 100.0)),
        "Instances": instances,
        "Parents": [{"Name": name} for name in label.info.parents],
        "Aliases": [{"Name": name} for name in label.info.aliases],
        "Categories": [{"Name": name} for name in label.info.categories],
    }


def _pixel_slice(box: Box) -> tuple[slice, slice]:
    return slice(round(box.top), max(round(box.bottom), round(box.top) + 1)), slice(
        round(box.left), max(round(box.right), round(box.left) + 1)
    )


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return _round(value)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


# --- DetectFaces ------------------------------------------------------------------------------


def detect_faces(request: dict, models: ModelSet) -> dict:
    # Any attribute set is accepted; the DEFAULT members are what can be derived from MTCNN.
    params.enum_list(request, "Attributes", FACE_ATTRIBUTES)
    image = image_from_request(request.get("Image"))
    faces = models.get("faces").detect(image.pixels)[:MAX_FACES]
    details = []
    for face in faces:
        face_quality = quality(image.pixels[_pixel_slice(face.box)], with_contrast=False)
        details.append(
            {
                "BoundingBox": _bounding_box(face.box, image),
                "Landmarks": [
                    {
                        "Type": name,
                        "X": _round(face.landmarks[name][0] / image.width),
                        "Y": _round(face.landmarks[name][1] / image.height),
                    }
                    for name in LANDMARK_NAMES
                ],
                "Pose": _rounded(estimate_pose(face.landmarks)),
                "Quality": _rounded(face_quality),
                "Confidence": _round(100.0 * face.confidence),
            }
        )
    return {"FaceDetails": details}


# --- DetectText -------------------------------------------------------------------------------


def detect_text(request: dict, models: ModelSet) -> dict:
    filters = params.structure(request, "Filters")
    word_filter = params.structure(filters, "WordFilter", "Filters.")
    path = "Filters.WordFilter."
    min_confidence = params.percent(word_filter, "MinConfidence", 0.0, path)
    min_height = params.ratio(word_filter, "MinBoundingBoxHeight", 0.0, path)
    min_width = params.ratio(word_filter, "MinBoundingBoxWidth", 0.0, path)
    regions = [_region_box(region) for region in params.object_list(filters, "RegionsOfInterest", 10, "Filters.")]
    image = image_from_request(request.get("Image"))
    lines = models.get("text").read(image.rgb)

    def keep(word) -> bool:
        bounding = word.box.to_bounding_box(image.width, image.height)
        if word.confidence < min_confidence or bounding["Height"] < min_height or bounding["Width"] < min_width:
            return False
        if not regions:
            return True
        center_x = bounding["Left"] + bounding["Width"] / 2
        center_y = bounding["Top"] + bounding["Height"] / 2
        return any(r.left <= center_x <= r.right and r.top <= center_y <= r.bottom for r in regions)

    kept_lines: list[Line] = []
    word_budget = MAX_WORDS
    for line in lines:
        words = [word for word in line.words if keep(word)][:word_budget]
        if not words:
            continue
        word_budget -= len(words)
        if len(words) != len(line.words):
            line = line_from_words(words)
        kept_lines.append(line)
        if word_budget == 0:
            break
    return {"TextDetections": _text_detections(kept_lines, image), "TextModelVersion": TEXT_MODEL_VERSION}


def _region_box(region: dict) -> Box:
    """A region of interest in ratios, from its BoundingBox or the bounds of its Polygon."""
    box = params.structure(region, "BoundingBox", "Filters.RegionsOfInterest.")
    if box:
        values = [
            params.ratio(box, key, 0.0, "Filters.RegionsOfInterest.BoundingBox.")
            for key in ("Left", "Top", "Width", "Height")
        ]
        return Box(*values)
    points = params.object_list(region, "Polygon", 1000, "Filters.RegionsOfInterest.")
    if not points:
        raise RekognitionError("InvalidParameterException", "Each region of interest needs a BoundingBox or a Polygon")
    xs = [params.ratio(point, "X", 0.0, "Filters.RegionsOfInterest.Polygon.") for point in points]
    ys = [params.ratio(point, "Y", 0.0, "Filters.RegionsOfInterest.Polygon.") for point in points]
    return Box.from_corners(min(xs), min(ys), max(xs), max(ys))


def _text_detections(lines: list[Line], image: AnalysisImage) -> list[dict]:
    """LINEs first (Ids 0..n-1), then WORDs, each naming its line as ParentId, as Rekognition does."""
    detections = []
    for line_id, line in enumerate(lines):
        detections.append(_detection(line.text, "LINE", line_id, None, line.confidence, line.box, line.polygon, image))
    next_id = len(lines)
    for line_id, line in enumerate(lines):
        for word in line.words:
            detections.append(
                _detection(word.text, "WORD", next_id, line_id, word.confidence, word.box, word.polygon, image)
            )
            next_id += 1
    return detections


def _detection(text, kind, detection_id, parent_id, confidence, box, points, image) -> dict:
    detection: dict[str, Any] = {"DetectedText": text, "Type": kind, "Id": detection_id}
    if parent_id is not None:
        detection["ParentId"] = parent_id
    detection["Confidence"] = _round(min(max(confidence, 0.0), 100.0))
    detection["Geometry"] = {
        "BoundingBox": _bounding_box(box, image),
        "Polygon": [{"X": _round(p["X"]), "Y": _round(p["Y"])} for p in polygon(points, image.width, image.height)],
    }
    return detection


# --- DetectModerationLabels -------------------------------------------------------------------


def detect_moderation_labels(request: dict, models: ModelSet) -> dict:
    min_confidence = params.percent(request, "MinConfidence", DEFAULT_MODERATION_MIN_CONFIDENCE)
    params.structure(request, "HumanLoopConfig")  # accepted; no human review exists locally
    if request.get("ProjectVersion"):
        raise RekognitionError(
            "ResourceNotFoundException", "Custom moderation adapters (ProjectVersion) are not emulated locally"
        )
    image = image_from_request(request.get("Image"))
    labels = models.get("moderation").analyze(image.rgb)
    return {
        "ModerationLabels": [
            {
                "Confidence": _round(label.confidence),
                "Name": label.name,
                "ParentName": label.parent,
                "TaxonomyLevel": label.level,
            }
            for label in labels
            if label.confidence >= min_confidence
        ],
        "ModerationModelVersion": MODERATION_MODEL_VERSION,
    }


OPERATIONS: dict[str, Operation] = {
    "DetectLabels": detect_labels,
    "DetectFaces": detect_faces,
    "DetectText": detect_text,
    "DetectModerationLabels": detect_moderation_labels,
}
