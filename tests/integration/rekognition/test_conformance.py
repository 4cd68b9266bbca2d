"""Every operation through boto3, every raw response checked against botocore's output shape."""

from __future__ import annotations

import importlib.util

import pytest

from tests.integration.rekognition.botocore_shapes import shape_problems
from tests.integration.rekognition.support import fixture_bytes

CALLS = [
    pytest.param(
        "DetectLabels",
        "detect_labels",
        {"Image": {"Bytes": fixture_bytes("astronaut.jpg")}, "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"]},
        id="labels-with-properties-and-person-instances",
    ),
    pytest.param(
        "DetectLabels",
        "detect_labels",
        {"Image": {"Bytes": fixture_bytes("chelsea.jpg")}, "MaxLabels": 3, "MinConfidence": 10},
        id="labels-general-only",
    ),
    pytest.param("DetectFaces", "detect_faces", {"Image": {"Bytes": fixture_bytes("astronaut.jpg")}}, id="faces"),
    pytest.param(
        "DetectFaces",
        "detect_faces",
        {"Image": {"Bytes": fixture_bytes("astronaut.jpg")}, "Attributes": ["ALL"]},
        id="faces-all-attributes",
    ),
    pytest.param("DetectText", "detect_text", {"Image": {"Bytes": fixture_bytes("sign.png")}}, id="text"),
    pytest.param(
        "DetectModerationLabels",
        "detect_moderation_labels",
        {"Image": {"Bytes": fixture_bytes("coffee.jpg")}, "MinConfidence": 0},
        id="moderation-all-levels",
    ),
]


@pytest.mark.parametrize(("operation", "method", "arguments"), CALLS)
def test_response_matches_botocore_output_shape(rekognition, raw_responses, operation, method, arguments):
    parsed = getattr(rekognition, method)(**arguments)
    raw = raw_responses.last(operation)
    output_shape = rekognition.meta.service_model.operation_model(operation).output_shape

    assert shape_problems(raw, output_shape) == []
    # Nothing was lost in parsing either: every member sent is one boto3 hands to the caller.
    assert set(raw) == set(parsed) - {"ResponseMetadata"}


def test_the_conformance_run_exercises_the_optional_members(rekognition, raw_responses):
    """Guards the test above against passing on empty responses."""
    labels = rekognition.detect_labels(
        Image={"Bytes": fixture_bytes("astronaut.jpg")}, Features=["GENERAL_LABELS", "IMAGE_PROPERTIES"]
    )
    person = next(label for label in labels["Labels"] if label["Name"] == "Person")
    assert person["Instances"] and person["Instances"][0]["DominantColors"]
    assert person["Categories"] and person["Aliases"]
    assert {"Quality", "DominantColors", "Foreground", "Background"} <= set(labels["ImageProperties"])
    text = rekognition.detect_text(Image={"Bytes": fixture_bytes("sign.png")})["TextDetections"]
    assert {"LINE", "WORD"} == {detection["Type"] for detection in text}
    moderation = rekognition.detect_moderation_labels(Image={"Bytes": fixture_bytes("coffee.jpg")}, MinConfidence=0)
    # Levels 2 and 3 come from NudeNet's part detector, which is opt-in (its model is AGPL-3.0).
    levels = {1, 2, 3} if importlib.util.find_spec("nudenet") else {1}
    assert levels == {label["TaxonomyLevel"] for label in moderation["ModerationLabels"]}
