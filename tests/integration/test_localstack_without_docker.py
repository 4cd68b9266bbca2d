"""`EMULATOR=localstack make local` where no Docker daemon answers: a clear message, at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from local.paths import PROJECT_ROOT

# How much longer than the interpreter's bare start the refusal may take: far less than one of the
# Docker client's connection timeouts (60 s), which is what a refusal that was not "at once" waits.
SECONDS_OVER_START = 5.0


def _seconds_to_run(arguments: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    began = time.perf_counter()
    result = subprocess.run(arguments, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    return time.perf_counter() - began, result


# serial: it times the command against the interpreter's start; both slow down on a loaded machine,
# but not always alike.
@pytest.mark.serial
def test_up_fails_fast_and_names_the_embedded_default(tmp_path):
    env = {
        **os.environ,
        "EMULATOR": "localstack",
        # A daemon that cannot exist, so the test means the same with or without Docker installed.
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
        "LOCAL_ENDPOINTS_FILE": str(tmp_path / "endpoints.json"),
    }
    # The same interpreter importing the same package, measured just before: the bound is on what
    # `up` adds to it, so a loaded machine slows both sides alike.
    start_only, _ = _seconds_to_run([sys.executable, "-c", "import local.__main__, local.stack"], env)
    elapsed, result = _seconds_to_run([sys.executable, "-m", "local", "up"], env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("local: EMULATOR=localstack needs a running Docker daemon"), result.stderr
    assert "EMULATOR=moto (the default)" in result.stderr
    assert elapsed - start_only < SECONDS_OVER_START, (
        f"took {elapsed:.2f} s; the interpreter's start {start_only:.2f} s"
    )
    assert not (tmp_path / "endpoints.json").exists()
