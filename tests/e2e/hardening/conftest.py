"""A stack with the fetcher's allow-list down to one hostile server, and listeners that record connections.

The hostile server (127.0.0.1, a port of its own) is the only address the upload function may fetch
from: it serves the bad content and the redirects. The listeners sit on loopback addresses and ports
nobody allow-listed; any connection that reaches one is a guard that failed.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from local import topology
from local.stack import LocalSystem
from tests.support.e2e_stack import Stack, stack_options
from tests.support.fetch_servers import FixtureServer, RecordingListener
from tests.support.ssrf_corpus import Ports


@dataclass
class Listeners:
    v4: RecordingListener
    v6: RecordingListener
    other: RecordingListener  # on 127.45.6.7: a loopback address other than 127.0.0.1

    def connections(self) -> int:
        return self.v4.accepted() + self.v6.accepted() + self.other.accepted()

    def close(self) -> None:
        for listener in (self.v4, self.v6, self.other):
            listener.close()


class Hardened(Stack):
    """The running stack, its hostile server and listeners, and the requests the suites make."""

    def __init__(self, stack: LocalSystem, server: FixtureServer, listeners: Listeners):
        super().__init__(stack)
        self.server = server
        self.listeners = listeners
        self.ports = Ports(
            port=listeners.v4.port,
            port6=listeners.v6.port,
            port_other=listeners.other.port,
            server_port=server.port,
        )

    def upload_by_url(self, url: str, name: str = "x.jpg") -> requests.Response:
        query = urllib.parse.urlencode({"url": url, "name": name})
        return self.http.get(f"{self.api}/?{query}", timeout=60)

    def upload_bytes(self, data: bytes, content_type: str = "image/jpeg", name: str = "x.jpg") -> requests.Response:
        query = urllib.parse.urlencode({"name": name})
        return self.http.post(
            f"{self.api}/images?{query}", data=data, headers={"content-type": content_type}, timeout=60
        )

    def stored(self) -> tuple[int, int]:
        """(objects in S3, image records in DynamoDB); label items come later and are not counted."""
        records = self.session.client("dynamodb").scan(
            TableName=self.table,
            Select="COUNT",
            FilterExpression="sk = :image",
            ExpressionAttributeValues={":image": {"S": "IMAGE"}},
        )["Count"]
        return self.object_count(), records

    def upload_worker_peak_bytes(self) -> int:
        """VmHWM of the upload function's worker process: the most memory it has held since it started."""
        pid = self.stack.runtime.worker_pid("upload")
        assert pid is not None, "the upload worker is not running"
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM line in /proc/<pid>/status")


@pytest.fixture(scope="session")
def hostile_server():
    server = FixtureServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def listeners():
    recording = Listeners(RecordingListener("127.0.0.1"), RecordingListener("::1"), RecordingListener("127.45.6.7"))
    yield recording
    recording.close()


@pytest.fixture(scope="session")
def hardened(hostile_server, listeners, tmp_path_factory):
    # moto's state is per process: a stage of its own keeps this stack apart from the session's.
    options = stack_options(
        rekognition="moto",
        fetch_allowlist=hostile_server.allow_entry,
        log_path=tmp_path_factory.mktemp("hardening-logs") / "functions.log",
    )
    with LocalSystem(options, topology.load("e2e-hardening")) as stack:
        yield Hardened(stack, hostile_server, listeners)
