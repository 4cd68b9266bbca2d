"""Tracing as Lambda runs it: each image gets a subsegment annotated with its id, also when recognize
processes it on a worker thread, under the invocation's segment.

Lambda's X-Ray setup is reproduced in a fresh interpreter: the task root and the trace header in
the environment, and the daemon's address pointing at a UDP socket of this test, which receives
the subsegments the X-Ray SDK sends.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

from local.paths import PROJECT_ROOT

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PROGRAM = """
import threading
from lib import observability

@observability.tracer.capture_method
def invocation():
    parent = observability.current_trace_entity()
    def on_a_worker_thread():
        with observability.image_subsegment("img-on-thread", parent):
            pass
    worker = threading.Thread(target=on_a_worker_thread)
    worker.start()
    worker.join()
    with observability.image_subsegment("img-here"):
        pass

invocation()
"""


def received_subsegments(udp: socket.socket, seconds: float = 5.0) -> list[dict]:
    """What the program sent: waits, up to `seconds`, for the invocation and its two images, then
    takes whatever else is already queued, so that an extra document still shows up in the asserts."""
    found: list[dict] = []
    deadline = time.monotonic() + seconds
    try:
        while True:
            complete = len(_named(found, "## image")) >= 2 and any(_named(found, "invocation"))
            udp.settimeout(0 if complete else max(deadline - time.monotonic(), 0.001))
            packet = udp.recv(65536).decode()
            # Each packet is a header line, then one JSON document.
            document = json.loads(packet.split("\n", 1)[1])
            found.append(document)
            found.extend(document.get("subsegments", []))
    except (TimeoutError, BlockingIOError):
        return found


def _named(documents: list[dict], suffix: str) -> list[dict]:
    return [d for d in documents if d.get("name", "").endswith(suffix)]


def test_each_image_gets_an_annotated_subsegment_even_on_a_worker_thread():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        env = {
            "PATH": "/usr/bin:/bin",
            "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
            "AWS_LAMBDA_FUNCTION_NAME": "recognize",
            "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "image-recognition",
        }
        run = subprocess.run([sys.executable, "-c", PROGRAM], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        subsegments = received_subsegments(udp)
    images = [s for s in subsegments if s.get("name") == "## image"]
    assert sorted(s["annotations"]["image_id"] for s in images) == ["img-here", "img-on-thread"], run.stderr
    # Both under the invocation's own subsegment, not beside it under Lambda's segment.
    [invocation] = [s for s in subsegments if s.get("name", "").endswith("invocation")]
    assert {s["parent_id"] for s in images} == {invocation["id"]}
    assert all(s["trace_id"] == TRACE_ID for s in subsegments if "trace_id" in s)
    assert "discarded" not in run.stderr.lower() and "cannot find" not in run.stderr.lower(), run.stderr
