"""`make local-e2e` on serverless.yml with one permission or policy taken away: each fails naming the cause.

These are the mistakes that pass on an emulator that enforces nothing and break a first deploy:
a role missing an action its function calls, and a queue without the policy SNS needs to deliver.
The unmutated file passes through the same harness, so a failure is the mutation's doing.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from local.paths import PROJECT_ROOT, SERVERLESS_YML
from tests.support.e2e_stack import skip_on_ministack

RECOGNIZE_TABLE_ACTIONS = "Action: [dynamodb:GetItem, dynamodb:BatchWriteItem, dynamodb:UpdateItem, dynamodb:PutItem]"
RECOGNIZE_PUBLISH = """                  - Effect: Allow
                    Action: sns:Publish
                    Resource: {Ref: ResultsTopic}
"""


def without_batch_write(text: str) -> str:
    return _replaced(text, RECOGNIZE_TABLE_ACTIONS, "Action: [dynamodb:GetItem, dynamodb:UpdateItem, dynamodb:PutItem]")


def without_publish(text: str) -> str:
    return _replaced(text, RECOGNIZE_PUBLISH, "")


def without_uploads_queue_policy(text: str) -> str:
    start = text.index("      UploadsQueuePolicy:\n")
    end = text.index("\n      # ---", start) + 1
    return text[:start] + text[end:]


def _replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"serverless.yml no longer holds {old!r}: update this test"
    return text.replace(old, new)


def run_e2e(serverless_yml) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LOCAL_SERVERLESS_YML": str(serverless_yml),
        # moto's canned label is enough to reach the writes; the local models would only add start time.
        "REKOGNITION": "moto",
    }
    return subprocess.run(
        [sys.executable, "-m", "local", "e2e", "--timeout", "30"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize(
    ("mutate", "cause"),
    [
        (
            without_batch_write,
            "RecognizeRole/image-recognition-local-recognize is not authorized to perform: dynamodb:BatchWriteItem "
            "on resource: arn:aws:dynamodb:us-east-1:123456789012:table/image-recognition-local-ImagesTable",
        ),
        (
            without_publish,
            "RecognizeRole/image-recognition-local-recognize is not authorized to perform: sns:Publish "
            "on resource: arn:aws:sns:us-east-1:123456789012:image-recognition-local-ResultsTopic",
        ),
        (
            without_uploads_queue_policy,
            "SNS -> SQS dropped: no AWS::SQS::QueuePolicy on UploadsQueue allows sns.amazonaws.com",
        ),
    ],
    ids=["recognize-without-BatchWriteItem", "recognize-without-sns-Publish", "no-UploadsQueuePolicy"],
)
def test_local_e2e_fails_naming_the_missing_permission_or_policy(tmp_path, mutate, cause):
    mutated = tmp_path / "serverless.yml"
    mutated.write_text(mutate(SERVERLESS_YML.read_text()))
    result = run_e2e(mutated)
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 1, result.stdout + result.stderr
    # The step that notices depends on timing: a denied publish comes after the DONE status, so
    # the flow may already be waiting for the webhook. Either way the summary names the cause.
    assert summary.startswith(("e2e: failed at recognition, ", "e2e: failed at webhook, ")), summary
    assert cause in summary


def test_local_e2e_passes_on_the_unmutated_file(tmp_path):
    copy = tmp_path / "serverless.yml"
    copy.write_text(SERVERLESS_YML.read_text())
    result = run_e2e(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("e2e: passed"), result.stdout


def test_the_pollers_receive_and_delete_as_their_functions_role(stack):
    skip_on_ministack(stack, "its own event source mappings poll the queues, with its own credentials")
    local = stack.stack
    for poller in local.pollers:
        signing_key = poller._sqs._request_signer._credentials.access_key
        assert signing_key == local.iam.credentials.for_function(poller.mapping.function_name).access_key
        assert local.iam.guard.role_of(signing_key).function == poller.mapping.function_name
