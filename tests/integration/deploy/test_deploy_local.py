"""`sls deploy` of the packaged template to the embedded emulator, checked against serverless.yml."""

from __future__ import annotations

import logging
import re

import pytest

from local import paths, topology
from local.aws.credentials import fake_session
from local.aws.emulator import MotoEmulator
from local.deploy import deploy_local
from local.deploy.findings import FAILED, GAP, MOTO_IGNORED_PROPERTIES, MOTO_SKIPPED_TYPES, VERIFIED

pytestmark = [
    # moto warns on each read of the stack about the types it skips; the check reports them as gaps.
    pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning"),
]


@pytest.fixture(scope="module")
def deployed(dev_package):
    """moto with the dev package deployed by osls, as `make deploy-local` does."""
    logging.getLogger("moto").setLevel(logging.ERROR)
    emulator = MotoEmulator()
    endpoint = emulator.start()
    try:
        deploy_local.deploy(endpoint, "dev", {}, dev_package.directory)
        yield endpoint
    finally:
        emulator.stop()


def test_everything_declared_is_verified_or_a_known_emulator_gap(deployed):
    findings = deploy_local.check(deployed, "dev", {})
    print(deploy_local.report(findings))
    assert [f for f in findings if f.outcome == FAILED] == []
    verified = {f.subject for f in findings if f.outcome == VERIFIED}
    assert {
        "stack image-recognition-dev",
        "table ImagesTable",
        "bucket ImagesBucket",
        "queue UploadsQueue",
        "queue IntegrationQueue",
        "topic UploadsTopic",
        "topic ResultsTopic",
        *(f"function {name}" for name in ("upload", "uploads", "recognize", "images", "delete", "deliver")),
    } <= verified
    known = set(MOTO_SKIPPED_TYPES) | {prop for _, prop in MOTO_IGNORED_PROPERTIES}
    for gap in (f for f in findings if f.outcome == GAP):
        assert any(name in gap.subject or name in gap.detail for name in known), gap


def test_the_summary_line_in_the_docs_has_the_counts_of_a_real_run(deployed):
    findings = deploy_local.check(deployed, "dev", {})
    verified, gaps = (sum(f.outcome == outcome for f in findings) for outcome in (VERIFIED, GAP))
    stated = re.findall(
        r"deploy-local: passed: (\d+) verified, (\d+) emulator gaps",
        (paths.PROJECT_ROOT / "docs/deploy.md").read_text(),
    )
    assert stated == [(str(verified), str(gaps))]


def test_a_drifted_deployment_fails_the_check(deployed):
    session = fake_session("us-east-1", deployed)
    lambda_client = session.client("lambda")
    sqs = session.client("sqs")
    queue = sqs.get_queue_url(QueueName=_queue_name(sqs, "UploadsQueue"))["QueueUrl"]
    function = "image-recognition-dev-images"
    environment = lambda_client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "30"})
    lambda_client.update_function_configuration(FunctionName=function, Environment={"Variables": {}})
    try:
        findings = deploy_local.check(deployed, "dev", {})
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "180"})
        lambda_client.update_function_configuration(FunctionName=function, Environment={"Variables": environment})
    failures = {(f.subject, f.detail.split(":")[0]) for f in findings if f.outcome == FAILED}
    declared = len(topology.load("dev", env={}).function("images").environment)
    assert failures == {
        ("queue UploadsQueue", "visibility 180 s"),
        ("function images", f"environment ({declared} variables)"),
    }


def _queue_name(sqs, logical_id: str) -> str:
    [url] = [u for u in sqs.list_queues()["QueueUrls"] if f"-{logical_id}-" in u]
    return url.rsplit("/", 1)[1]
