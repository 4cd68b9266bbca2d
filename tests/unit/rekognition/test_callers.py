"""The local Rekognition fails closed, as Rekognition does: it knows each caller or refuses the call."""

import json

import pytest

from local.rekognition.callers import CALLERS_VARIABLE, authorize, identify
from local.rekognition.errors import RekognitionError

ROLE = "arn:aws:sts::123456789012:assumed-role/stack-RecognizeRole/stack-recognize"


def header(access_key: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential={access_key}/20261130/us-east-1/rekognition/aws4_request, SignedHeaders=host"


@pytest.fixture
def enforced(monkeypatch):
    callers = {"ASIAROLE": {"arn": ROLE, "secret": "s3cr3t", "allowed": ["DetectLabels"]}}
    monkeypatch.setenv(CALLERS_VARIABLE, json.dumps(callers))


def refusal(call) -> RekognitionError:
    with pytest.raises(RekognitionError) as refused:
        call()
    return refused.value


def test_a_known_caller_is_identified_with_the_credentials_it_reads_s3_with(enforced):
    caller = identify(header("ASIAROLE"))
    assert (caller.arn, caller.access_key, caller.secret_key) == (ROLE, "ASIAROLE", "s3cr3t")
    authorize(caller, "DetectLabels")


def test_an_operation_outside_the_role_is_access_denied_naming_role_and_action(enforced):
    refused = refusal(lambda: authorize(identify(header("ASIAROLE")), "DetectFaces"))
    assert refused.code == "AccessDeniedException"
    assert f"User: {ROLE} is not authorized to perform: rekognition:DetectFaces" in refused.message


def test_a_key_the_stack_did_not_issue_is_refused_naming_it(enforced):
    refused = refusal(lambda: identify(header("testing")))
    assert (refused.code, refused.status) == ("UnrecognizedClientException", 400)
    assert "access key testing is neither a function's role nor the stack's administrator key" in refused.message


@pytest.mark.parametrize("authorization", [None, "", "Bearer something"])
def test_an_unsigned_request_is_refused(enforced, authorization):
    refused = refusal(lambda: identify(authorization))
    assert (refused.code, refused.status) == ("MissingAuthenticationTokenException", 403)


def test_without_enforcement_no_caller_is_checked(monkeypatch):
    monkeypatch.delenv(CALLERS_VARIABLE, raising=False)
    assert identify(header("anyone")) is None and identify(None) is None
    authorize(None, "DetectFaces")
