"""One local Rekognition per test session, reached through plain boto3 as an application would."""

from __future__ import annotations

import pytest

from local.aws.credentials import FAKE_CREDENTIALS, fake_session
from local.rekognition import RekognitionService
from tests.integration.rekognition.support import REGION, RawResponses, rekognition_client


@pytest.fixture(scope="session")
def rekognition_service():
    service = RekognitionService()
    service.start()  # not waiting for warm-up on purpose: the first request must wait by itself
    yield service
    service.stop()


@pytest.fixture(scope="session")
def rekognition(rekognition_service):
    return rekognition_client(rekognition_service.url)


@pytest.fixture(scope="session")
def raw_responses(rekognition):
    return RawResponses(rekognition)


@pytest.fixture(scope="module")
def s3_emulator():
    """moto's server on a free port, with the environment the service's S3 client reads."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # 0: any free port
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        s3 = fake_session(REGION, endpoint).client("s3")
        yield s3
    server.stop()
