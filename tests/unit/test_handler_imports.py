"""Importing a handler outside Lambda creates no AWS client of ours: a test's emulator must exist first.

The X-Ray SDK, which Powertools Tracer loads, builds its own X-Ray client for centralised sampling
when imported; our code never calls it, and in Lambda the SDK does not sample, so it is not counted.
"""

import json
import subprocess
import sys

import pytest

from local.paths import PROJECT_ROOT
from local.topology import load

pytestmark = pytest.mark.unit

XRAY_SDK_CLIENT = "XRay"

PROBE = """
import json, sys, time
import botocore.client
created = []
original = botocore.client.BaseClient.__init__
def counting_init(self, *args, **kwargs):
    created.append(type(self).__name__)
    original(self, *args, **kwargs)
botocore.client.BaseClient.__init__ = counting_init
started = time.perf_counter()
import importlib
importlib.import_module(sys.argv[1])
print(json.dumps({"clients": created, "import_ms": (time.perf_counter() - started) * 1000}))
"""


@pytest.mark.parametrize("function", list(load("local", env={}).functions), ids=lambda f: f.name)
def test_importing_a_handler_creates_no_boto3_client(function):
    module = function.handler.rpartition(".")[0].replace("/", ".")
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}
    output = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert [name for name in json.loads(output)["clients"] if name != XRAY_SDK_CLIENT] == []
