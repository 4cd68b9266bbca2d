"""Helpers shared by the local Rekognition integration tests."""

from __future__ import annotations

import io
import json
from pathlib import Path

from botocore.config import Config

from local.aws.credentials import fake_session

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REGION = "us-east-1"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def jpeg_bytes(image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def rekognition_client(url: str):
    """boto3 as the Lambda uses it, except that retries are off so each call is one request."""
    return fake_session(REGION, url).client(
        "rekognition",
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
