"""Importing a handler outside Lambda creates no AWS client: a test's emulator must exist first.
Imported by a Lambda runtime, it builds every client it uses then, in the init phase, so that the
first request does not wait for them.
"""

import json
import subprocess
import sys

import pytest

from local.paths import PROJECT_ROOT
from local.topology import load

# One process imports what every handler imports, then forks a child for each handler to import
# it in: about 0.3 s of CPU once, not for each of the fourteen imports. The child counts the boto3
# clients built from the moment it starts on, with the environment it is given.
PROBES = """
import importlib, json, os, sys, traceback
import aws_lambda_powertools, boto3, botocore.client
for line in sys.stdin:
    request = json.loads(line)
    child = os.fork()
    if child == 0:
        os.environ.clear()
        os.environ.update(request["env"])
        created = []
        original = botocore.client.BaseClient.__init__
        def counting_init(self, *args, **kwargs):
            created.append(type(self).__name__)
            original(self, *args, **kwargs)
        botocore.client.BaseClient.__init__ = counting_init
        try:
            importlib.import_module(request["module"])
            answer = {"clients": created}
        except BaseException:
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\\n")
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(child, 0)
"""
BASE_ENV = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}


FUNCTIONS = list(load("local", env={}).functions)
# What each function calls, from its role in serverless.yml (tests/integration/deploy/test_iam.py).
CLIENTS_AT_INIT = {
    "upload": ["DynamoDB", "S3"],
    "uploads": ["DynamoDB", "S3"],  # S3: the SigV4 signer of the presigned POST
    "recognize": ["DynamoDB", "Rekognition", "S3", "SNS", "SQS"],  # S3: uploads on arrival; SQS: re-queued throttles
    "images": ["DynamoDB", "S3"],  # S3: the signer of the content route's presigned GET
    "deliver": ["DynamoDB", "KMS", "SQS", "SSM"],  # KMS: the endpoints' secrets, decrypted at send time
    "webhooks": ["DynamoDB", "KMS", "SQS"],  # KMS: a new secret encrypted; SQS: a test event queued
    "delete": ["DynamoDB", "S3", "SNS"],  # SNS: image.deleted
}


@pytest.fixture(scope="module")
def probes():
    process = subprocess.Popen(
        [sys.executable, "-c", PROBES],
        cwd=PROJECT_ROOT,
        env=BASE_ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield process
    process.stdin.close()
    process.wait(timeout=10)


def clients_built_on_import(probes, function, **env: str) -> list[str]:
    module = function.handler.rpartition(".")[0].replace("/", ".")
    probes.stdin.write(json.dumps({"module": module, "env": {**BASE_ENV, **env}}) + "\n")
    probes.stdin.flush()
    answer = json.loads(probes.stdout.readline())
    assert "error" not in answer, answer.get("error")
    return sorted(answer["clients"])


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_importing_a_handler_creates_no_boto3_client(probes, function):
    assert clients_built_on_import(probes, function) == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_a_lambda_runtime_importing_a_handler_builds_its_clients_at_init(probes, function):
    # serverless.yml's values; a placeholder where the deployed stack would fill in a resource.
    configuration = {
        name: value if isinstance(value, str) else f"placeholder-{name.lower()}"
        for name, value in function.environment.items()
    }
    configuration["WEBHOOK_URL"] = "https://receiver.invalid/hook"
    lambda_environment = {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # Nothing listens there: building a client must not call it.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    assert set(CLIENTS_AT_INIT) == {f.name for f in FUNCTIONS}
    assert (
        clients_built_on_import(probes, function, **configuration, **lambda_environment)
        == CLIENTS_AT_INIT[function.name]
    )
