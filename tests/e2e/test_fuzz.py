"""Schemathesis against a running stack: no 5xx, no response outside docs/openapi.yaml, no worker crash.

The stack is one of its own, so the fuzzer's uploads (it makes small valid JPEGs and PNGs) never
reach the session stack's queues, with moto's canned Rekognition to keep each recognition cheap.
The settings, seed included, are in tests/e2e/schemathesis.toml; a failing run repeats exactly.
"""

import json
import os
import subprocess
import sys

import pytest
import requests
import yaml

from local import topology
from local.paths import PROJECT_ROOT
from local.stack import LocalSystem
from tests.support.contract import spec_document
from tests.support.e2e_stack import stack_options

CONFIG = "tests/e2e/schemathesis.toml"
RUN_SECONDS_LIMIT = 240


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory):
    options = stack_options(rekognition="moto", log_path=tmp_path_factory.mktemp("fuzz-logs") / "functions.log")
    # moto's state is per process: a stage of its own keeps these resources apart from the session stack's.
    with LocalSystem(options, topology.load("e2e-contract")) as stack:
        yield stack


def test_the_local_gateway_serves_the_spec(fuzzed_stack):
    response = requests.get(f"{fuzzed_stack.endpoints.api}/openapi.yaml", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(response.content) == spec_document()


@pytest.fixture
def say(capsys):
    """Prints past pytest's capture, so `make test` shows what the fuzzer did."""

    def say(line: str) -> None:
        with capsys.disabled():
            print("\n" + line)

    return say


def readable(output: str) -> str:
    """The end of the run's output, with the fuzzer's very long generated values cut short."""
    lines = [line if len(line) <= 400 else line[:400] + " [...]" for line in output.splitlines()]
    return "\n".join(lines[-200:])


# Counters that change without anything going wrong: every event is an invocation, and a backlog of
# fuzzed uploads may start a second worker of a function (a cold start, not a restart).
GROWING_COUNTERS = ("invocations", "cold_starts")


def worker_state(runtime) -> dict:
    """Each function's first worker's pid and its error and timeout counters (crashes count as
    errors): a crash or a timeout changes one or the other."""
    return {
        name: (runtime.worker_pid(name), {k: v for k, v in runtime.stats(name).items() if k not in GROWING_COUNTERS})
        for name in runtime.function_names
    }


@pytest.mark.timeout(RUN_SECONDS_LIMIT + 60)
def test_schemathesis_finds_no_server_error_no_contract_break_and_no_crash(fuzzed_stack, tmp_path, say):
    api = fuzzed_stack.endpoints.api
    report = tmp_path / "schemathesis.json"
    before = worker_state(fuzzed_stack.runtime)

    # Another seed than the configured one, to look further: FUZZ_SEED=<n> make test-e2e
    seed = ["--seed", os.environ["FUZZ_SEED"]] if os.environ.get("FUZZ_SEED") else []
    # WHEN schemathesis runs every phase (examples, coverage, fuzzing, stateful) on the spec the stack serves
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--config-file", CONFIG, "--no-color", "run"]
        # Every check but the one documented exception (schemathesis.toml): an unknown method is 404.
        + ["--checks", "all", "--exclude-checks", "unsupported_method"]
        + [*seed, f"{api}/openapi.yaml", "--url", api, "--report", "json", "--report-json-path", str(report)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "FUZZ_FIXTURES_URL": fuzzed_stack.endpoints.fixtures},
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS_LIMIT,
    )

    # THEN every check passed on every case, and no worker crashed, timed out or restarted
    assert run.returncode == 0, readable(run.stdout + run.stderr)
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]
    assert summary["complete"] and summary["operations"]["tested"] == len(topology.load("local").routes)
    assert cases["generated"] > 0 and cases["with_failures"] == 0 and cases["errored"] == 0, summary
    assert worker_state(fuzzed_stack.runtime) == before
    say(
        f"schemathesis: {cases['generated']} cases in {summary['running_time']:.0f} s, seed {summary['seed']}, "
        f"no failures ({summary['filtered']} opaque-cursor and SSRF refusals set aside)"
    )
