"""When the stack process dies without a chance to clean up (SIGKILL, an OOM kill, a closed
terminal), every process it started follows it, and every port it held is free again."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse

import pytest

from local.paths import PROJECT_ROOT
from tests.support.e2e_stack import ministack_problem
from tests.support.processes import descendants, running
from tests.support.waiting import WaitTimedOut, wait_until

# How long the children may take to notice: the brief the stack is held to.
FOLLOW_SECONDS = 2.0


def test_every_child_of_a_killed_stack_exits_and_every_port_is_freed(tmp_path):
    endpoints_file = tmp_path / "endpoints.json"
    env = {
        **os.environ,
        "LOCAL_ENDPOINTS_FILE": str(endpoints_file),
        "LOCAL_RELOAD": "0",
        # The local models make the Rekognition service a real child process with a port of its own.
        "REKOGNITION": "local",
        "LOCAL_LOG_FILE": str(tmp_path / "functions.log"),
    }
    stack = subprocess.Popen(
        [sys.executable, "-m", "local", "up"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that the test's own cleanup can reach whatever survives
    )
    children: dict[int, str] = {}
    try:
        wait_until(lambda: endpoints_file.exists() or stack.poll() is not None, 120, "the stack to be ready")
        assert stack.poll() is None, f"the stack exited with code {stack.returncode}"
        children.update(descendants(stack.pid))
        ports = _ports(json.loads(endpoints_file.read_text()))
        assert any("local rekognition" in command for command in children.values()), children
        # The workers are forked from the zygote, and show its command line.
        assert sum("zygote" in command for command in children.values()) >= 2, children

        stack.send_signal(signal.SIGKILL)
        stack.wait()
        try:
            wait_until(lambda: not any(running(pid) for pid in children), FOLLOW_SECONDS, "every child to exit")
        except WaitTimedOut:
            survivors = {pid: command for pid, command in children.items() if running(pid)}
            pytest.fail(f"{len(survivors)} of {len(children)} children outlived the stack: {survivors}")
        _wait_ports_free(ports)
    finally:
        _kill_leftovers(stack, children)


def _ports(endpoints: dict) -> list[int]:
    urls = [value for value in endpoints.values() if isinstance(value, str) and value.startswith("http://")]
    return sorted({urllib.parse.urlsplit(url).port for url in urls})


def _wait_ports_free(ports: list[int]) -> None:
    """Every port is closed within the same window as the processes (a loaded machine may take a moment)."""
    try:
        wait_until(lambda: not any(_listening(port) for port in ports), FOLLOW_SECONDS, "every port to be free")
    except WaitTimedOut:
        pytest.fail(f"ports still listening after the stack was killed: {[p for p in ports if _listening(p)]}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _kill_leftovers(stack: subprocess.Popen, children: dict[int, str]) -> None:
    """Whatever the assertions found, nothing this test started may outlive it."""
    for pid in [stack.pid, *children, *descendants(stack.pid)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stack.wait()


# Started alone: ministack is the emulator's process, whichever stack starts it, and a whole
# ministack stack (an osls deploy) would cost ten seconds more to show the same thing.
MINISTACK_HOST = """
import sys
from local.aws.ministack import MinistackEmulator
emulator = MinistackEmulator(log_path=__import__("pathlib").Path(sys.argv[1]))
print(emulator.start(), flush=True)
sys.stdin.read()
"""


def test_ministack_exits_with_the_process_that_started_it(tmp_path):
    problem = ministack_problem()
    if problem is not None:
        pytest.skip(problem)
    host = subprocess.Popen(
        [sys.executable, "-c", MINISTACK_HOST, str(tmp_path / "ministack.log")],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    children: dict[int, str] = {}
    try:
        endpoint = host.stdout.readline().strip()
        assert endpoint.startswith("http://"), f"ministack did not start: {endpoint!r}"
        children.update(descendants(host.pid))
        assert any("ministack" in command for command in children.values()), children
        host.send_signal(signal.SIGKILL)
        host.wait()
        try:
            wait_until(lambda: not any(running(pid) for pid in children), FOLLOW_SECONDS, "ministack to exit")
        except WaitTimedOut:
            pytest.fail(f"ministack outlived its stack: {[c for p, c in children.items() if running(p)]}")
        _wait_ports_free([urllib.parse.urlsplit(endpoint).port])
    finally:
        _kill_leftovers(host, children)
