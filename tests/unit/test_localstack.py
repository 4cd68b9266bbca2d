"""EMULATOR=localstack: how the container is configured and how its endpoint is wired, with the
container class replaced (the real one needs Docker), and the fast, clear failure without Docker."""

from __future__ import annotations

import pytest

from local.aws.localstack import DEFAULT_IMAGE, SERVICES, LocalStackEmulator
from local.errors import StackError


class RecordingContainer:
    """Stands in for testcontainers' LocalStackContainer and records how it is used."""

    made: list[RecordingContainer] = []

    def __init__(self, image: str, region_name: str, fail_start: bool = False):
        self.image, self.region_name, self.fail_start = image, region_name, fail_start
        self.env: dict[str, str] = {}
        self.started_with: dict | None = None
        self.stopped = False
        RecordingContainer.made.append(self)

    def with_services(self, *services: str) -> RecordingContainer:
        self.env["SERVICES"] = ",".join(services)
        return self

    def with_env(self, name: str, value: str) -> RecordingContainer:
        self.env[name] = value
        return self

    def start(self, timeout: float) -> RecordingContainer:
        self.started_with = {"timeout": timeout}
        if self.fail_start:
            raise RuntimeError("container exited with code 55")
        return self

    def get_url(self) -> str:
        return "http://localhost:49153"

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture(autouse=True)
def fresh_recording():
    RecordingContainer.made = []


def emulator(env=None, docker_reason=None, container_class=RecordingContainer) -> LocalStackEmulator:
    return LocalStackEmulator(env=env or {}, container_class=container_class, docker_check=lambda: docker_reason)


def test_default_image_services_region_and_endpoint():
    localstack = emulator()
    endpoint = localstack.start()
    [container] = RecordingContainer.made
    assert container.image == DEFAULT_IMAGE == "localstack/localstack:4.14.0"
    assert container.region_name == "us-east-1"
    assert container.env == {"SERVICES": ",".join(SERVICES)}
    assert container.started_with is not None
    # A numeric loopback address, so boto3 addresses buckets by path, not as <bucket>.localhost.
    assert endpoint == localstack.endpoint == "http://127.0.0.1:49153"
    assert (localstack.name, localstack.account_id) == ("localstack", "000000000000")


def test_image_override_and_auth_token_pass_through():
    emulator({"LOCALSTACK_IMAGE": "localstack/localstack:4.13.1", "LOCALSTACK_AUTH_TOKEN": "ls-abc"}).start()
    [container] = RecordingContainer.made
    assert container.image == "localstack/localstack:4.13.1"
    assert container.env["LOCALSTACK_AUTH_TOKEN"] == "ls-abc"


def test_an_empty_token_is_not_passed():
    emulator({"LOCALSTACK_AUTH_TOKEN": ""}).start()
    assert "LOCALSTACK_AUTH_TOKEN" not in RecordingContainer.made[0].env


def test_without_docker_no_container_is_made_and_the_message_names_the_default():
    with pytest.raises(StackError) as raised:
        emulator(docker_reason="Error while fetching server API version").start()
    assert RecordingContainer.made == []
    message = str(raised.value)
    assert "Docker" in message and "EMULATOR=moto" in message and "Error while fetching" in message


def test_a_container_that_fails_to_start_is_stopped_and_explained():
    localstack = emulator(container_class=lambda **kw: RecordingContainer(**kw, fail_start=True))
    with pytest.raises(StackError, match="did not start: container exited with code 55.*LOCALSTACK_AUTH_TOKEN"):
        localstack.start()
    [container] = RecordingContainer.made
    assert container.stopped


def test_stop_stops_the_container_once():
    localstack = emulator()
    localstack.start()
    localstack.stop()
    localstack.stop()
    assert RecordingContainer.made[0].stopped
