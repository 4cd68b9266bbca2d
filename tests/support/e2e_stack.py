"""The end-to-end tier's helpers: the stack's options, the running stack and what tests do with it.

The session's stack itself is a fixture of tests/e2e/conftest.py; the helpers live here so that
test modules (and the browser tier) import them from a module rather than from a conftest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

from local.aws import ministack
from local.errors import StackError
from local.paths import PROJECT_ROOT
from local.stack import LocalSystem, StackOptions
from tests.support.contract import ContractSession
from tests.support.waiting import wait_until

# Deliveries retry at once here, so the retry and dead-letter paths run in seconds, not minutes.
FAST_RETRIES = {"deliver": {"RETRY_BASE_SECONDS": "0", "RETRY_MAX_SECONDS": "0"}}


def stack_options(**overrides) -> StackOptions:
    options = StackOptions(
        rekognition=os.environ.get("REKOGNITION", "local"),
        write_endpoints=False,
        function_environment=FAST_RETRIES,
        poll_wait_seconds=1,
        # The e2e tier's tests send the same fixtures again and again, and follow each one through
        # Rekognition; identical images recognized once are followed by test_dedupe.py on a stack of its own.
        dedupe="off",
    )
    for name, value in overrides.items():
        setattr(options, name, value)
    return options


def cognito_stack_options(stage: str, endpoints: Path, **overrides) -> StackOptions:
    """A stack with AUTH=cognito on a stage of its own (moto's state is per process, so its
    resources stay apart from the session stack's), writing the endpoints file `python -m local
    token` reads. moto's Rekognition: these stacks are about who sees what, and it starts at once."""
    return stack_options(
        stage=stage, auth="cognito", rekognition="moto", write_endpoints=True, endpoints_file=endpoints, **overrides
    )


def ministack_problem() -> str | None:
    try:
        ministack.executable()
    except StackError as error:
        return str(error)
    return None


def skip_on_ministack(stack: Stack, gap: str) -> None:
    """Tests that drive the embedded runtime's internals, or meet a gap listed in docs/fidelity.md."""
    if stack.stack.options.emulator == "ministack":
        pytest.skip(f"EMULATOR=ministack: {gap}")


class Stack:
    """The running stack plus the few things tests do with it."""

    def __init__(self, stack: LocalSystem):
        self.stack = stack
        self.api = stack.endpoints.api
        # Every response from the API is checked against docs/openapi.yaml before a test sees it.
        self.http = ContractSession(self.api)
        self.fixtures = stack.endpoints.fixtures
        self.inbox = stack.inbox
        self.session = stack.session()
        self.log_dir = stack.options.log_dir
        self.table = stack.physical("ImagesTable")
        self.bucket = stack.physical("ImagesBucket")

    def upload_url(self, fixture: str, name: str | None = None) -> requests.Response:
        query = {"url": f"{self.fixtures}/{fixture}", "name": name or unique_name()}
        return self.http.get(f"{self.api}/?" + urllib.parse.urlencode(query), timeout=30)

    def image(self, image_id: str) -> dict:
        return self.http.get(f"{self.api}/images/{image_id}", timeout=10).json()

    def wait_final(self, image_id: str, timeout: float = 60) -> dict:
        return wait_until(
            lambda: (body := self._image_or_nothing(image_id)).get("status") in ("DONE", "FAILED") and body,
            timeout,
            f"image {image_id} to reach a final state",
        )

    def _image_or_nothing(self, image_id: str) -> dict:
        # One slow read (a function worker starting on a loaded machine) is one poll, not the wait's
        # end: the wait's own deadline decides.
        try:
            return self.image(image_id)
        except requests.Timeout:
            return {}

    def deliveries_for(self, image_id: str) -> list:
        return [d for d in self.inbox.deliveries() if (d.body or {}).get("data", {}).get("image_id") == image_id]

    def queue_depth(self, logical_id: str) -> int:
        attributes = self.session.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.physical(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def wait_drained(self, timeout: float = 60) -> None:
        wait_until(
            lambda: self.queue_depth("UploadsQueue") == 0 and self.queue_depth("IntegrationQueue") == 0,
            timeout,
            "the uploads and integration queues to drain",
        )

    def dead_letters(self, logical_id: str) -> list[dict]:
        sqs, url, found = self.session.client("sqs"), self.stack.physical(logical_id), []
        while batch := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", []):
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            found.extend(batch)
        return found

    def items_of(self, image_id: str) -> list[dict]:
        return self.session.client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"IMAGE#{image_id}"}},
        )["Items"]

    def object_count(self) -> int:
        return self.session.client("s3").list_objects_v2(Bucket=self.bucket).get("KeyCount", 0)

    def image_count(self) -> int:
        return self.session.client("dynamodb").scan(TableName=self.table, Select="COUNT")["Count"]


def cli_token(endpoints: Path, stage: str, user: str | None = None) -> str:
    """A token from `python -m local token` for the stack whose endpoints file is given."""
    result = subprocess.run(
        [sys.executable, "-m", "local", "token", "--stage", stage, *(["--user", user] if user else [])],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOCAL_ENDPOINTS_FILE": str(endpoints)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def unique_name(prefix: str = "img") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}.jpg"
