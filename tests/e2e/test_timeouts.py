"""A handler that exceeds its timeout is killed, as in Lambda, and its records are retried."""

import dataclasses
import threading

import pytest

from local import topology
from local.stack import LocalSystem
from tests.support.contract import ContractSession
from tests.support.e2e_stack import stack_options
from tests.support.http_servers import BackgroundServer, JsonHandler
from tests.support.waiting import wait_until

RECOGNIZE_TIMEOUT = 2
VISIBILITY_TIMEOUT = 3


class HangsOnceRekognition:
    """A Rekognition endpoint that never answers its first call and answers the rest at once."""

    def __init__(self):
        self.calls = 0
        self.release = threading.Event()
        outer = self

        class Handler(JsonHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["content-length"]))
                outer.calls += 1
                if outer.calls == 1:
                    outer.release.wait(30)  # far beyond the function's timeout
                    return
                self.reply(
                    200,
                    {"Labels": [{"Name": "Cat", "Confidence": 97.0}], "LabelModelVersion": "3.0"},
                    content_type="application/x-amz-json-1.1",
                )

        self.server = BackgroundServer(Handler)
        self.url = self.server.url

    def stop(self):
        self.release.set()
        self.server.stop()


@pytest.fixture
def slow_stack():
    # moto's state is per process: a stage of its own keeps this stack's resources apart from the session's.
    base = topology.load("e2e-timeouts")
    functions = tuple(
        dataclasses.replace(f, timeout=RECOGNIZE_TIMEOUT) if f.name == "recognize" else f for f in base.functions
    )
    queues = tuple(
        dataclasses.replace(q, properties={**q.properties, "VisibilityTimeout": VISIBILITY_TIMEOUT})
        if q.logical_id == "UploadsQueue"
        else q
        for q in base.queues
    )
    rekognition = HangsOnceRekognition()
    options = stack_options(
        rekognition="moto",
        function_environment={"recognize": {"AWS_ENDPOINT_URL_REKOGNITION": rekognition.url}},
    )
    stack = LocalSystem(options, dataclasses.replace(base, functions=functions, queues=queues))
    stack.start()
    yield stack, rekognition
    stack.stop()
    rekognition.stop()


def test_a_hung_handler_is_killed_at_its_timeout_and_the_record_is_retried(slow_stack):
    stack, rekognition = slow_stack
    http = ContractSession(stack.endpoints.api)

    first_worker = stack.runtime.worker_pid("recognize")
    response = http.post(
        f"{stack.endpoints.api}/images", json={"url": f"{stack.endpoints.fixtures}/chelsea.jpg"}, timeout=30
    )
    image_id = response.json()["image_id"]

    result = wait_until(
        lambda: (r := http.get(f"{stack.endpoints.api}/images/{image_id}", timeout=5).json())["status"] == "DONE" and r,
        60,
        "the retried recognition to finish",
    )
    assert [label["name"] for label in result["labels"]] == ["Cat"]
    assert rekognition.calls == 2
    stats = stack.runtime.stats("recognize")
    assert stats["timeouts"] == 1 and stats["cold_starts"] == 2
    assert stack.runtime.worker_pid("recognize") != first_worker
