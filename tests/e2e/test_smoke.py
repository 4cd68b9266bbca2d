"""`python -m local smoke` (what `make smoke` runs): passes against a working stack found each way,
and fails within its deadline, naming the step, against a broken one."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

import pytest

from local.commands import smoke
from local.paths import PROJECT_ROOT
from tests.support.http_servers import BackgroundServer, JsonHandler

STEP_LINE = re.compile(r"^smoke: (target|upload|recognition|labels|webhook) +\d+ ms  \S")


def run_smoke(*args: str, aws: dict | None = None, timeout: float = 90) -> tuple[subprocess.CompletedProcess, float]:
    """Runs the command as `make smoke` does; `aws` replaces every AWS_* variable of this environment."""
    began = time.monotonic()
    env = dict(os.environ)
    if aws is not None:
        env = {name: value for name, value in env.items() if not name.startswith("AWS_")} | aws
    result = subprocess.run(
        [sys.executable, "-m", "local", "smoke", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.monotonic() - began


def assert_passed_every_step(output: str) -> None:
    lines = output.strip().splitlines()
    assert [line.split()[1] for line in lines] == ["target", "upload", "recognition", "labels", "webhook", "passed"]
    assert all(STEP_LINE.match(line) for line in lines[:-1]), output
    assert "signature verified" in lines[4], output


# --- working targets --------------------------------------------------------------------------------
def test_api_target_uploads_the_bytes_and_checks_the_webhook_in_the_given_inbox(stack):
    result, _ = run_smoke("--api", stack.api, "--inbox", stack.inbox.url)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert_passed_every_step(result.stdout)
    assert "as image/jpeg bytes" in result.stdout


def test_stage_target_reads_the_api_url_from_the_cloudformation_stack_outputs(stack, tmp_path):
    # GIVEN a CloudFormation stack, as osls names and shapes it, whose HttpApiUrl is the local API
    stage = f"smoke{uuid.uuid4().hex[:6]}"
    template = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"HttpApiUrl": {"Value": stack.api}, "HttpApiId": {"Value": "local"}},
    }
    cloudformation = stack.session.client("cloudformation")
    cloudformation.create_stack(StackName=f"image-recognition-{stage}", TemplateBody=json.dumps(template))

    # WHEN smoke is pointed at the stage, with AWS calls going to the emulator and no real profile around
    emulator = {
        "AWS_ENDPOINT_URL": stack.stack.endpoints.aws,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    result, _ = run_smoke("--stage", stage, "--inbox", stack.inbox.url, aws=emulator)

    # THEN it found the API through the stack's outputs and ran the whole flow there
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert_passed_every_step(result.stdout)
    assert f"stage {stage} (image-recognition-{stage} in us-east-1) at {stack.api}" in result.stdout

    # AND a stage with no such stack fails at the target step, saying so
    missing, _ = run_smoke("--stage", f"{stage}-gone", aws=emulator)
    assert missing.returncode == 1
    assert re.search(rf"FAILED at target .*image-recognition-{stage}-gone.*does not exist", missing.stdout)


def test_local_target_uses_the_running_stack_named_in_the_endpoints_file(stack, tmp_path, monkeypatch, capsys):
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps(stack.stack.endpoints.to_json()))
    monkeypatch.setenv("LOCAL_ENDPOINTS_FILE", str(endpoints))

    assert smoke.main(["--timeout", "60"]) == 0

    output = capsys.readouterr().out
    assert_passed_every_step(output)
    assert f"running local stack at {stack.api}" in output and "by URL" in output


# --- broken targets ---------------------------------------------------------------------------------
class FakeApi:
    """An API that accepts uploads and reports each image as `status` with `labels`, forever."""

    def __init__(self, status: str, labels: list[dict]):
        self.image_id = uuid.uuid4().hex
        image_id = self.image_id

        class Handler(JsonHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.reply(202, {"image_id": image_id, "status": "PENDING", "name": "x", "links": {}})

            def do_GET(self):
                if self.path == "/inbox":
                    self.reply(200, {"deliveries": []})
                else:
                    self.reply(200, {"image_id": image_id, "status": status, "labels": labels})

        self.server = BackgroundServer(Handler)
        self.url = self.server.url

    def stop(self):
        self.server.stop()


@pytest.fixture
def fake_api(request):
    status, labels = request.param
    api = FakeApi(status, labels)
    yield api
    api.stop()


@pytest.mark.parametrize("fake_api", [("PENDING", [])], indirect=True)
def test_recognition_that_never_finishes_fails_at_the_deadline_naming_the_step(fake_api):
    result, took = run_smoke("--api", fake_api.url, "--timeout", "2")

    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("smoke: FAILED at recognition after ")
    assert f"image {fake_api.image_id} still PENDING at the 2 s deadline" in last
    assert took < 2 + 15  # the deadline, plus the interpreter's start and one last poll


@pytest.mark.parametrize("fake_api", [("DONE", [])], indirect=True)
def test_a_result_without_labels_fails_at_the_labels_step(fake_api):
    result, _ = run_smoke("--api", fake_api.url, "--timeout", "2")

    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1].startswith("smoke: FAILED at labels after ")


@pytest.mark.parametrize("fake_api", [("DONE", [{"name": "Cat"}])], indirect=True)
def test_a_webhook_that_never_arrives_fails_at_the_webhook_step(fake_api):
    result, took = run_smoke("--api", fake_api.url, "--inbox", f"{fake_api.url}/inbox", "--timeout", "2")

    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("smoke: FAILED at webhook after ") and "by the 2 s deadline" in last
    assert took < 2 + 15


def test_an_api_that_is_down_fails_at_the_upload_step():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # free once the socket is closed below
    result, _ = run_smoke("--api", f"http://127.0.0.1:{closed_port}", "--timeout", "2")

    assert result.returncode == 1
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("smoke: FAILED at upload after ") and "could not connect" in last
