"""`make local-e2e` on serverless.yml with one permission or policy taken away: each fails naming the cause.

These are the mistakes that pass on an emulator that enforces nothing and break a first deploy:
a role missing an action its function calls, a bucket policy that denies, a topic or queue without
the policy S3 or SNS needs to deliver. Each case is a row of docs/fidelity.md, which cites it. The
unmutated file passes through the same harness, so a failure is the mutation's doing.

Every flow is `python -m local e2e`'s own, on a fresh stack built from the mutated file; they run
one after another in one process (tests/support/flow_runner.py), which pays the imports once.
Rows where Rekognition reads the image run with the local Rekognition, so the read really happens
as the caller; the others with moto's canned answer, which starts faster.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from local.paths import PROJECT_ROOT, SERVERLESS_YML
from tests.support.e2e_stack import skip_on_ministack

ACCOUNT = "123456789012"
STACK = "image-recognition-local"
BUCKET_ARN = f"arn:aws:s3:::{STACK}-images-{ACCOUNT}"


def role(name: str, function: str) -> str:
    return f"assumed-role/{STACK}-{name}/{STACK}-{function} is not authorized to perform: "


# --- the mutations -----------------------------------------------------------------------------------
RECOGNIZE_TABLE_ACTIONS = "Action: [dynamodb:GetItem, dynamodb:BatchWriteItem, dynamodb:UpdateItem, dynamodb:PutItem]"
RECOGNIZE_PUBLISH = """                  - Effect: Allow
                    Action: sns:Publish
                    Resource: {Ref: ResultsTopic}
"""
RECOGNIZE_IMAGE_READ = """                  - Effect: Allow
                    # Rekognition reads the object with the caller's permissions.
                    Action: [s3:GetObject, s3:GetObjectVersion]
                    Resource: {Fn::Sub: "${ImagesBucket.Arn}/images/*"}
"""
RECOGNIZE_DETECT = (
    "Action: [rekognition:DetectLabels, rekognition:DetectFaces, rekognition:DetectText, "
    "rekognition:DetectModerationLabels]"
)
RECOGNIZE_QUEUE_ACTIONS = "Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:SendMessage]"
UPLOAD_PUT = """                  - Effect: Allow
                    Action: s3:PutObject
                    Resource: {Fn::Sub: "${ImagesBucket.Arn}/images/*"}
"""
BUCKET_DENY_CONDITION = 'aws:SecureTransport: "false"'
BUCKET_PROPERTIES = """        Properties:
          # A known name lets the topic policy name the bucket without a circular reference.
"""


def without_batch_write(text: str) -> str:
    return _replaced(text, RECOGNIZE_TABLE_ACTIONS, "Action: [dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:PutItem]")


def without_publish(text: str) -> str:
    return _replaced(text, RECOGNIZE_PUBLISH, "")


def without_image_read(text: str) -> str:
    return _replaced(text, RECOGNIZE_IMAGE_READ, "")


def versioned_without_get_object_version(text: str) -> str:
    """The bucket versioned, so S3's events carry a versionId and Rekognition reads that version."""
    read_latest_only = RECOGNIZE_IMAGE_READ.replace("[s3:GetObject, s3:GetObjectVersion]", "s3:GetObject")
    versioned = BUCKET_PROPERTIES + "          VersioningConfiguration: {Status: Enabled}\n"
    return _replaced(_replaced(text, RECOGNIZE_IMAGE_READ, read_latest_only), BUCKET_PROPERTIES, versioned)


def without_detect_labels(text: str) -> str:
    return _replaced(text, RECOGNIZE_DETECT, RECOGNIZE_DETECT.replace("rekognition:DetectLabels, ", ""))


def without_receive(text: str) -> str:
    return _replaced(text, RECOGNIZE_QUEUE_ACTIONS, RECOGNIZE_QUEUE_ACTIONS.replace("sqs:ReceiveMessage, ", ""))


def upload_without_put(text: str) -> str:
    return _replaced(text, UPLOAD_PUT, "")


def bucket_policy_denying(text: str) -> str:
    """The bucket's TLS-only Deny made to apply here (local endpoints count as TLS: row 14)."""
    return _replaced(text, BUCKET_DENY_CONDITION, 'aws:SecureTransport: "true"')


def without_uploads_topic_policy(text: str) -> str:
    text = _replaced(text, "        DependsOn: UploadsTopicPolicy\n", "")
    return _without_resource(text, "UploadsTopicPolicy", "\n      UploadsQueue:\n")


def without_uploads_queue_policy(text: str) -> str:
    return _without_resource(text, "UploadsQueuePolicy", "\n      # ---")


def unmutated(text: str) -> str:
    return text


def _without_resource(text: str, logical_id: str, next_marker: str) -> str:
    start = text.index(f"      {logical_id}:\n")
    end = text.index(next_marker, start) + 1
    return text[:start] + text[end:]


def _replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"serverless.yml no longer holds {old!r}: update this test"
    return text.replace(old, new)


# --- the cases ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str  # the id docs/fidelity.md cites
    rows: tuple[str, ...]  # the rows of docs/fidelity.md it proves
    mutate: Callable[[str], str]
    rekognition: str  # "local" where Rekognition's own checks or its S3 read are the point
    cause: str | tuple[str, ...] | None  # what the failing summary names (all of it); None: the flow passes
    # The steps that may notice: a denied publish comes after the DONE status, so the flow may
    # already be waiting for the webhook.
    steps: tuple[str, ...] = ("recognition",)

    def __str__(self) -> str:
        return self.name


CASES = (
    Case(
        "upload-without-s3-PutObject",
        ("1",),
        upload_without_put,
        "moto",
        role("UploadRole", "upload") + f"s3:PutObject on resource: {BUCKET_ARN}/images/",
        ("upload",),
    ),
    Case(
        "recognize-without-BatchWriteItem",
        ("2", "3"),
        without_batch_write,
        "moto",
        role("RecognizeRole", "recognize")
        + f"dynamodb:BatchWriteItem on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{STACK}-ImagesTable",
        ("recognition", "webhook"),
    ),
    Case(
        "recognize-without-sns-Publish",
        ("2", "4"),
        without_publish,
        "moto",
        role("RecognizeRole", "recognize")
        + f"sns:Publish on resource: arn:aws:sns:us-east-1:{ACCOUNT}:{STACK}-ResultsTopic",
        ("recognition", "webhook"),
    ),
    Case(
        "recognize-without-image-read",
        ("5",),
        without_image_read,
        "local",
        role("RecognizeRole", "recognize") + f"s3:GetObject on resource: {BUCKET_ARN}/images/",
    ),
    Case(
        "versioned-recognize-without-GetObjectVersion",
        ("5",),
        versioned_without_get_object_version,
        "local",
        role("RecognizeRole", "recognize") + f"s3:GetObjectVersion on resource: {BUCKET_ARN}/images/",
    ),
    Case(
        "recognize-without-DetectLabels",
        ("5b",),
        without_detect_labels,
        "local",
        role("RecognizeRole", "recognize") + "rekognition:DetectLabels",
    ),
    Case(
        "recognize-without-ReceiveMessage",
        ("6",),
        without_receive,
        "moto",
        role("RecognizeRole", "recognize")
        + f"sqs:ReceiveMessage on resource: arn:aws:sqs:us-east-1:{ACCOUNT}:{STACK}-UploadsQueue",
    ),
    Case(
        "bucket-policy-denying",
        ("15",),
        bucket_policy_denying,
        "moto",
        (
            role("UploadRole", "upload") + f"s3:PutObject on resource: {BUCKET_ARN}/images/",
            "with an explicit deny in a resource-based policy",
        ),
        ("upload",),
    ),
    Case(
        "no-UploadsTopicPolicy",
        ("17",),
        without_uploads_topic_policy,
        "moto",
        "S3 -> SNS dropped: no AWS::SNS::TopicPolicy on UploadsTopic allows s3.amazonaws.com",
    ),
    Case(
        "no-UploadsQueuePolicy",
        ("18",),
        without_uploads_queue_policy,
        "moto",
        "SNS -> SQS dropped: no AWS::SQS::QueuePolicy on UploadsQueue allows sns.amazonaws.com",
        ("recognition", "webhook"),
    ),
    # The control: the same harness on the file as it is, with the local Rekognition reading as its caller.
    Case("unmutated", (), unmutated, "local", None),
)


def _flows_seconds(flows: int) -> int:
    return 60 + 45 * flows


@pytest.fixture(scope="module")
def flows(request, tmp_path_factory) -> dict[str, dict]:
    """Every case selected in this run, each flow on its own fresh stack, in one process."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec") and "case" in item.callspec.params
    ]
    folder = tmp_path_factory.mktemp("mutations")
    plan = []
    for case in selected:
        path = folder / f"{case.name}.yml"
        path.write_text(case.mutate(SERVERLESS_YML.read_text()))
        plan.append({"name": case.name, "serverless_yml": str(path), "rekognition": case.rekognition})
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.flow_runner", json.dumps(plan)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=_flows_seconds(len(plan)),
    )
    outcomes = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            outcome = json.loads(line)
            outcomes[outcome["name"]] = outcome | {"log": result.stderr}
    return outcomes


@pytest.mark.parametrize("case", CASES, ids=str)
# The first case's setup runs every flow: the runner's own bound, not the suite's 120 s per test,
# which a loaded machine's eleven stacks in a row outlast.
@pytest.mark.timeout(_flows_seconds(len(CASES)) + 30)
def test_local_e2e_fails_naming_the_missing_permission_or_policy(flows, case):
    outcome = flows.get(case.name)
    assert outcome is not None, f"the flow runner gave no result for {case.name}"
    if case.cause is None:
        assert outcome["passed"] and outcome["summary"].startswith("e2e: passed"), outcome["summary"] + outcome["log"]
        return
    assert not outcome["passed"], outcome["summary"]
    assert outcome["summary"].startswith(tuple(f"e2e: failed at {step}, " for step in case.steps)), outcome["summary"]
    for named in (case.cause,) if isinstance(case.cause, str) else case.cause:
        assert named in outcome["summary"]


def test_the_pollers_receive_and_delete_as_their_functions_role(stack):
    skip_on_ministack(stack, "its own event source mappings poll the queues, with its own credentials")
    local = stack.stack
    for poller in local.pollers:
        signing_key = poller._sqs._request_signer._credentials.access_key
        assert signing_key == local.iam.credentials.for_function(poller.mapping.function_name).access_key
        assert local.iam.guard.role_of(signing_key).function == poller.mapping.function_name
