"""The conformance checker itself must catch what it claims to catch."""

from __future__ import annotations

import boto3
import pytest

from tests.integration.rekognition.botocore_shapes import shape_problems


@pytest.fixture(scope="module")
def output_shape():
    client = boto3.session.Session(region_name="us-east-1").client("rekognition")
    return client.meta.service_model.operation_model("DetectText").output_shape


def _detection(**overrides):
    detection = {
        "DetectedText": "STOP",
        "Type": "WORD",
        "Id": 1,
        "ParentId": 0,
        "Confidence": 99.5,
        "Geometry": {
            "BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.2, "Top": 0.3},
            "Polygon": [{"X": 0.2, "Y": 0.3}],
        },
    }
    detection.update(overrides)
    return detection


def test_a_conforming_document_has_no_problems(output_shape):
    assert shape_problems({"TextDetections": [_detection()], "TextModelVersion": "3.0"}, output_shape) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"TextDetections": [], "Extra": 1}, "unknown member 'Extra'"),
        ({"TextDetections": [_detection(Colour="red")]}, "unknown member 'Colour'"),
        ({"TextDetections": {}}, "expected a list"),
        ({"TextDetections": [_detection(Id="1")]}, "expected an integer"),
        ({"TextDetections": [_detection(Id=True)]}, "expected an integer"),
        ({"TextDetections": [_detection(Confidence="high")]}, "expected a number"),
        ({"TextDetections": [_detection(Confidence=100.5)]}, "above Percent's maximum 100"),
        ({"TextDetections": [_detection(Type="PARAGRAPH")]}, "is not one of TextTypes's values"),
        ({"TextDetections": [_detection(DetectedText=7)]}, "expected a string"),
        ({"TextModelVersion": ["3.0"]}, "expected a string"),
    ],
)
def test_each_kind_of_departure_is_reported(output_shape, document, expected):
    problems = shape_problems(document, output_shape)
    assert any(expected in problem for problem in problems), problems


def test_missing_required_members_are_reported():
    client = boto3.session.Session(region_name="us-east-1").client("rekognition")
    # HumanLoopConfig requires HumanLoopName and FlowDefinitionArn.
    input_shape = client.meta.service_model.operation_model("DetectModerationLabels").input_shape
    problems = shape_problems({"Image": {}, "HumanLoopConfig": {"HumanLoopName": "x"}}, input_shape)
    assert any("missing required member 'FlowDefinitionArn'" in problem for problem in problems)
