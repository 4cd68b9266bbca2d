"""The parts the local system is composed of, each built alone from what its constructor is given:
the emulator backends behind one protocol, the functions' configuration and the Rekognition endpoint."""

from __future__ import annotations

import inspect
import socket

import pytest

from local import topology
from local.aws.backend import EmulatorBackend
from local.aws.emulator import MotoEmulator
from local.aws.localstack import LocalStackEmulator
from local.aws.ministack import MinistackEmulator
from local.aws.provision import Provisioner
from local.functions.configuration import FunctionConfiguration
from local.sidecars.rekognition_service import RekognitionSidecar, recognition_features
from local.stack_options import StackOptions

AWS = "http://127.0.0.1:4566"


@pytest.fixture(scope="module")
def local():
    return topology.load("local", env={})


def backends() -> list[EmulatorBackend]:
    # Built without starting anything: a fixed port for moto, no Docker check for LocalStack.
    return [
        MotoEmulator(port=4566),
        LocalStackEmulator(env={}, docker_check=lambda: None),
        MinistackEmulator(),
    ]


@pytest.mark.parametrize("backend", backends(), ids=lambda b: b.name)
def test_every_backend_implements_the_protocol(backend):
    assert isinstance(backend, EmulatorBackend)
    assert backend.endpoint == ""  # not started
    for method in ("start", "stop"):
        assert not inspect.signature(getattr(backend, method)).parameters, method


def test_only_moto_knows_its_endpoint_before_it_starts():
    assert {b.name: b.planned_endpoint for b in backends()} == {
        "moto": "http://127.0.0.1:4566",
        "localstack": None,
        "ministack": None,
    }


def test_functions_get_the_values_only_the_running_system_knows(local):
    ids = Provisioner(local, None, account_id=MotoEmulator.account_id).plan(AWS)
    functions = FunctionConfiguration(
        StackOptions(),
        local,
        None,
        aws_endpoint=AWS,
        rekognition_url="http://127.0.0.1:9000",
        webhook_url="http://127.0.0.1:9001/hooks",
        fixtures_address="127.0.0.1:9002",
    )
    environment = {spec.name: dict(spec.environment) for spec in functions.specs(ids)}
    assert environment["deliver"]["WEBHOOK_URL"] == "http://127.0.0.1:9001/hooks"
    assert {env["FETCH_ALLOWLIST"] for env in environment.values() if "FETCH_ALLOWLIST" in env} == {"127.0.0.1:9002"}
    base = functions.base_environment()
    assert (base["AWS_ENDPOINT_URL"], base["AWS_ENDPOINT_URL_REKOGNITION"]) == (AWS, "http://127.0.0.1:9000")
    assert base["AWS_ACCESS_KEY_ID"] == "testing"


def sidecar(local, **options) -> RekognitionSidecar:
    return RekognitionSidecar(StackOptions(**options), local, None, progress=lambda message, began: None)


@pytest.mark.parametrize(
    ("rekognition", "expected"),
    [("moto", AWS), ("aws", "https://rekognition.{region}.amazonaws.com"), ("local", "http://127.0.0.1:")],
)
def test_the_rekognition_endpoint_is_chosen_before_anything_starts(local, rekognition, expected):
    rekognition_endpoint = sidecar(local, rekognition=rekognition)
    try:
        assert rekognition_endpoint.plan(AWS) == rekognition_endpoint.url
        assert rekognition_endpoint.url.startswith(expected.format(region=local.region))
    finally:
        rekognition_endpoint.stop()


def test_the_local_rekognition_port_is_held_from_the_plan_until_a_stop(local):
    rekognition_endpoint = sidecar(local, rekognition="local")
    port = int(rekognition_endpoint.plan(AWS).rsplit(":", 1)[1])
    # The process it starts serves that socket, so nothing else may bind the port meanwhile.
    with socket.socket() as other, pytest.raises(OSError):
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
    rekognition_endpoint.stop()  # planned, never started: the port goes
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))


@pytest.mark.parametrize("rekognition", ["moto", "aws"])
def test_moto_and_aws_rekognition_need_no_process_of_their_own(local, rekognition):
    rekognition_endpoint = sidecar(local, rekognition=rekognition)
    rekognition_endpoint.plan(AWS)
    rekognition_endpoint.start(AWS)
    assert rekognition_endpoint.process is None
    rekognition_endpoint.stop()  # nothing to stop: a no-op


def test_the_warm_up_covers_the_features_recognize_is_configured_with(local):
    declared = str(local.function("recognize").environment["RECOGNITION_FEATURES"])
    expected = sorted({name.strip() for name in declared.split(",") if name.strip()})
    assert expected
    assert recognition_features(local) == expected
