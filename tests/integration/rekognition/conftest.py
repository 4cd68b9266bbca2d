"""One local Rekognition per test session, reached through plain boto3 as an application would."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from local.rekognition import RekognitionService

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def jpeg_bytes(image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def rekognition_client(url: str):
    """boto3 as the Lambda uses it, except that retries are off so each call is one request."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client(
        "rekognition",
        endpoint_url=url,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=300, connect_timeout=5),
    )


class RawResponses:
    """The JSON bodies the service actually sent, captured before botocore parses them (the parser
    drops members it does not know, which is exactly what the conformance tests must see)."""

    def __init__(self, client) -> None:
        self.bodies: list[tuple[str, int, dict]] = []
        client.meta.events.register("after-call.rekognition", self._record)

    def _record(self, http_response, model, **_) -> None:
        self.bodies.append((model.name, http_response.status_code, json.loads(http_response.content or b"{}")))

    def last(self, operation: str) -> dict:
        for name, _status, body in reversed(self.bodies):
            if name == operation:
                return body
        raise AssertionError(f"no {operation} response was captured")


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
        s3 = boto3.session.Session(region_name=REGION, **_lowercase(FAKE_CREDENTIALS)).client(
            "s3", endpoint_url=endpoint
        )
        yield s3
    server.stop()


def _lowercase(credentials: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in credentials.items()}
