"""FEATURES: the recognition features a local stack runs with, as the recognitionFeatures stage parameter."""

import pytest

from local import topology
from local.console.operations import recognition_features
from local.errors import StackError
from local.stack_options import StackOptions

EVERY = "labels,faces,text,moderation,properties"


def recognize_environment(options: StackOptions) -> str:
    system = topology.load("local", params=options.stage_params(), env={})
    [recognize] = [f for f in system.functions if f.name == "recognize"]
    return recognize.environment["RECOGNITION_FEATURES"]


def test_without_features_the_stack_runs_what_serverless_yml_gives_every_stage():
    options = StackOptions.from_env({})
    assert recognize_environment(options) == "labels,properties"
    assert recognition_features(topology.load("local", params=options.stage_params(), env={})) == {
        "on": ["labels", "properties"],
        "off": ["faces", "moderation", "text"],
    }


def test_features_set_the_stage_parameter_without_editing_serverless_yml():
    options = StackOptions.from_env({"FEATURES": " labels, faces,text ,moderation,properties "})
    assert options.stage_params() == {"auth": "none", "recognitionFeatures": EVERY}
    assert recognize_environment(options) == EVERY
    assert recognition_features(topology.load("local", params=options.stage_params(), env={}))["off"] == []


def test_an_unknown_feature_is_refused_by_name():
    with pytest.raises(StackError, match=r"FEATURES has unknown entries \['celebrities'\]"):
        StackOptions.from_env({"FEATURES": "labels,celebrities"})


def test_dedupe_is_the_stage_parameter_on_by_default_and_off_with_dedupe_off():
    def dedupe(options: StackOptions) -> str:
        system = topology.load("local", params=options.stage_params(), env={})
        [recognize] = [f for f in system.functions if f.name == "recognize"]
        return recognize.environment["DEDUPE"]

    assert dedupe(StackOptions.from_env({})) == "on"
    assert dedupe(StackOptions.from_env({"DEDUPE": "off"})) == "off"
    with pytest.raises(StackError, match="DEDUPE must be on or off"):
        StackOptions.from_env({"DEDUPE": "no"})
