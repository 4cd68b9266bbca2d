"""--fail-rate: throttling errors on demand, for testing the callers' retry paths."""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.aws.credentials import fake_session
from local.rekognition import RekognitionService
from local.rekognition.server import FAULT_CODES
from tests.integration.rekognition.support import fixture_bytes, rekognition_client


@pytest.fixture(scope="module")
def failing_service():
    service = RekognitionService(fail_rate=1.0)
    service.start()
    yield service
    service.stop()


def test_every_call_is_throttled_at_fail_rate_one(failing_service):
    client = rekognition_client(failing_service.url)
    seen = []
    for _ in range(24):
        with pytest.raises(ClientError) as caught:
            client.detect_labels(Image={"Bytes": fixture_bytes("chelsea.jpg")})
        error = caught.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        seen.append(error["Error"]["Code"])
    assert set(seen) == set(FAULT_CODES) == {"ThrottlingException", "ProvisionedThroughputExceededException"}


def test_the_fail_rate_can_be_changed_on_a_running_service(failing_service):
    client = rekognition_client(failing_service.url)
    failing_service.fail_rate = 0.0
    try:
        assert client.detect_labels(Image={"Bytes": fixture_bytes("chelsea.jpg")})["Labels"]
    finally:
        failing_service.fail_rate = 1.0


def test_boto3_retries_injected_throttling_as_it_would_real_throttling(failing_service):
    retrying = fake_session("us-east-1", failing_service.url).client(
        "rekognition",
        config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
    )
    with pytest.raises(ClientError) as caught:
        retrying.detect_text(Image={"Bytes": fixture_bytes("sign.png")})
    assert caught.value.response["Error"]["Code"] in FAULT_CODES
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 1


def test_fail_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError):
        RekognitionService(fail_rate=1.5)
