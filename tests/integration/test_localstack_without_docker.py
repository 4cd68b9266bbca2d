"""`EMULATOR=localstack make local` where no Docker daemon answers: a clear message, at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from local.paths import PROJECT_ROOT


# serial: it times the interpreter's start, which a loaded machine slows past the bound.
@pytest.mark.serial
def test_up_fails_fast_and_names_the_embedded_default(tmp_path):
    env = {
        **os.environ,
        "EMULATOR": "localstack",
        # A daemon that cannot exist, so the test means the same with or without Docker installed.
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
        "LOCAL_ENDPOINTS_FILE": str(tmp_path / "endpoints.json"),
    }
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "local", "up"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    elapsed = time.perf_counter() - began
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("local: EMULATOR=localstack needs a running Docker daemon"), result.stderr
    assert "EMULATOR=moto (the default)" in result.stderr
    assert elapsed < 2.0, f"took {elapsed:.2f} s, including the interpreter's start"
    assert not (tmp_path / "endpoints.json").exists()
