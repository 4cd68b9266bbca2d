"""The local Rekognition refuses a caller whose role lacks the operation, as Rekognition does."""

import json

import pytest

from local.rekognition.callers import authorize
from local.rekognition.errors import RekognitionError

ROLE = "arn:aws:sts::123456789012:assumed-role/stack-RecognizeRole/stack-recognize"


def header(access_key: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential={access_key}/20261130/us-east-1/rekognition/aws4_request, SignedHeaders=host"


@pytest.fixture(autouse=True)
def callers(monkeypatch):
    monkeypatch.setenv("LOCAL_CALLER_REKOGNITION", json.dumps({"ASIAROLE": {"arn": ROLE, "allowed": ["DetectLabels"]}}))


def test_an_allowed_operation_passes_and_an_unlisted_caller_is_not_checked():
    authorize(header("ASIAROLE"), "DetectLabels")
    authorize(header("testing"), "DetectFaces")
    authorize(None, "DetectFaces")


def test_an_operation_outside_the_role_is_access_denied_naming_role_and_action():
    with pytest.raises(RekognitionError) as refused:
        authorize(header("ASIAROLE"), "DetectFaces")
    assert refused.value.code == "AccessDeniedException"
    assert f"User: {ROLE} is not authorized to perform: rekognition:DetectFaces" in refused.value.message
