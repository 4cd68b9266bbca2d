"""`make local` in the background: `make stop` ends it and everything it started, and each run keeps
its own logs, so `python -m local trace` still finds an image of the run before."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from local.observability import runs
from local.paths import FIXTURES_DIR, PROJECT_ROOT
from tests.support import background_stack
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the stack's processes through /proc"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


@pytest.fixture
def started():
    """Every stack the test started; any still running when it ends, however it ends, is stopped."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        background_stack.stop(process)


@pytest.fixture
def env(tmp_path):
    return {
        **os.environ,
        "LOCAL_ENDPOINTS_FILE": str(tmp_path / "endpoints.json"),
        runs.VARIABLE: str(tmp_path / "logs"),
        "LOCAL_RELOAD": "0",
        # Stop and the kept logs are what is tested here, not the models: moto's canned answer is enough.
        "REKOGNITION": "moto",
    }


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every live process, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            found[int(stat.parent.name)] = (int(fields[1]), fields[19])
    return found


def process_tree(root: int) -> set[tuple[int, str]]:
    """The process and all it started (workers, zygote, sidecars), each as (pid, start time)."""
    live = processes()
    tree, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        if pid in live:
            tree.add((pid, live[pid][1]))
            frontier += [child for child, (parent, _) in live.items() if parent == pid]
    return tree


def still_running(tree: set[tuple[int, str]]) -> set[tuple[int, str]]:
    live = processes()
    return {(pid, started) for pid, started in tree if live.get(pid, (0, ""))[1] == started}


def start_in_background(env: dict[str, str], log: Path, started: list) -> tuple[subprocess.Popen, dict]:
    endpoints_file = Path(env["LOCAL_ENDPOINTS_FILE"])
    process = background_stack.start(PROJECT_ROOT, env, endpoints_file, log)
    started.append(process)
    return process, json.loads(endpoints_file.read_text())


def make_stop(env: dict[str, str]) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "stop"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_stop_ends_a_background_stack_and_each_run_keeps_its_logs(env, tmp_path, started):
    process, endpoints = start_in_background(env, tmp_path / "first.out", started)
    assert endpoints["pid"] == process.pid
    tree = process_tree(process.pid)
    assert len(tree) > 1  # the stack and the processes it started
    image = FIXTURES_DIR / "rocket.jpg"
    accepted = requests.post(
        f"{endpoints['api']}/images?name=rocket",
        data=image.read_bytes(),
        headers={"content-type": "image/jpeg"},
        timeout=30,
    )
    image_id = accepted.json()["image_id"]
    wait_until(
        lambda: requests.get(f"{endpoints['api']}/images/{image_id}", timeout=5).json()["status"] == "DONE", 60, "DONE"
    )

    said = make_stop(env)

    assert process.wait(timeout=30) == 0
    assert f"stopped the stack of pid {process.pid}" in said
    assert still_running(tree) == set() and not Path(env["LOCAL_ENDPOINTS_FILE"]).exists()
    assert "no stack is running" in make_stop(env)

    second, _ = start_in_background(env, tmp_path / "second.out", started)
    make_stop(env)
    assert second.wait(timeout=30) == 0

    logs_root = Path(env[runs.VARIABLE])
    kept = runs.kept_runs(logs_root)
    assert len(kept) == 2 and (logs_root / runs.LATEST).resolve() == kept[-1].resolve()
    traced = subprocess.run(
        [sys.executable, "-m", "local", "trace", image_id], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert traced.returncode == 0 and traced.stdout.startswith(f"trace {image_id}: upload to webhook"), traced.stdout
