"""Importing a handler is cheap and creates no AWS client: clients are built on first use."""

import json
import subprocess
import sys

import pytest

from local.paths import PROJECT_ROOT
from local.topology import load

pytestmark = pytest.mark.unit

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
    assert json.loads(output)["clients"] == []
