"""Fault injection, model warm-up and the command line's arguments, without a server."""

from __future__ import annotations

import threading

import pytest

from local.rekognition.cli import build_parser
from local.rekognition.errors import RekognitionError
from local.rekognition.models import ModelSet
from local.rekognition.server import FAULT_CODES, FaultInjector


def test_no_faults_at_rate_zero_and_only_faults_at_rate_one():
    assert all(FaultInjector(0.0, seed=1).next_fault() is None for _ in range(200))
    always = FaultInjector(1.0, seed=1)
    codes = [always.next_fault().code for _ in range(200)]
    assert set(codes) == set(FAULT_CODES)


def test_the_fault_rate_is_respected_on_average():
    injector = FaultInjector(0.25, seed=3)
    faults = sum(injector.next_fault() is not None for _ in range(4000))
    assert 850 < faults < 1150


class _Model:
    def __init__(self) -> None:
        self.warmed = False

    def warm_up(self) -> None:
        self.warmed = True


def test_models_are_loaded_warmed_and_reported_ready_once():
    ready_calls = []
    models = ModelSet({"good": _Model})
    models.start_warm_up(on_ready=ready_calls.append)
    models.start_warm_up()  # idempotent
    assert models.wait_ready(10) and models.ready
    assert models.get("good").warmed
    assert ready_calls == [models] and models.prepare_seconds is not None


def test_a_model_that_fails_to_load_makes_only_its_operations_fail():
    def broken():
        raise OSError("weights missing")

    models = ModelSet({"good": _Model, "broken": broken})
    models.start_warm_up()
    models.wait_ready(10)
    assert models.get("good").warmed
    with pytest.raises(RekognitionError) as caught:
        models.get("broken")
    assert caught.value.code == "InternalServerError" and caught.value.status == 500
    assert "weights missing" in models.errors["broken"]


def test_a_request_waits_for_warm_up():
    release = threading.Event()

    def slow():
        release.wait(10)
        return "model"

    models = ModelSet({"slow": slow})
    models.start_warm_up()
    result = []
    waiter = threading.Thread(target=lambda: result.append(models.get("slow")))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not models.ready
    release.set()
    waiter.join(10)
    assert result == ["model"]


def test_command_line_defaults_and_limits():
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.fail_rate) == ("127.0.0.1", 0, 0.0)
    assert build_parser().parse_args(["--fail-rate", "0.5", "--port", "4567"]).fail_rate == 0.5
    for bad in ("1.5", "-0.1", "often"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--fail-rate", bad])
