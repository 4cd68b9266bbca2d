"""The endpoints file: one reader of LOCAL_ENDPOINTS_FILE, and the `up` banner names the file in use."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from local import topology
from local.commands import auth_token, redrive, up
from local.endpoints import Endpoints, endpoints_file, read_endpoints, write_endpoints
from local.paths import ENDPOINTS_FILE
from local.stack import StackOptions

ENDPOINTS = Endpoints(
    api="http://127.0.0.1:1", aws="http://127.0.0.1:2", rekognition="http://127.0.0.1:3",
    webhook_inbox="http://127.0.0.1:4/", fixtures="http://127.0.0.1:5",
)  # fmt: skip


def _banner(env: dict[str, str]) -> str:
    options = StackOptions.from_env(env)
    system = topology.load("local", params=options.stage_params(), env={})
    stack = SimpleNamespace(options=options, endpoints=ENDPOINTS, started_in=1.0, topology=system)
    return up._banner(stack)  # type: ignore[arg-type]


def test_the_file_is_the_variables_when_set_and_dot_local_otherwise(tmp_path):
    assert endpoints_file({"LOCAL_ENDPOINTS_FILE": str(tmp_path / "e.json")}) == tmp_path / "e.json"
    assert endpoints_file({"LOCAL_ENDPOINTS_FILE": ""}) == ENDPOINTS_FILE
    assert endpoints_file({}) == ENDPOINTS_FILE


def test_the_up_banner_names_the_file_the_variable_chose(tmp_path):
    elsewhere = tmp_path / "stack-b" / "endpoints.json"

    assert f"(endpoints in {elsewhere}," in _banner({"LOCAL_ENDPOINTS_FILE": str(elsewhere)})
    assert "(endpoints in .local/endpoints.json," in _banner({})


def test_the_stack_writes_where_the_variable_says(tmp_path):
    options = StackOptions.from_env({"LOCAL_ENDPOINTS_FILE": str(tmp_path / "e.json")})

    write_endpoints(options.endpoints_file, ENDPOINTS)

    assert read_endpoints(tmp_path / "e.json") == {**ENDPOINTS.to_json(), "pid": os.getpid()}


def test_the_file_keeps_its_keys_and_adds_the_pid_that_stop_signals(tmp_path):
    write_endpoints(tmp_path / "e.json", ENDPOINTS, pid=4321)

    written = read_endpoints(tmp_path / "e.json")
    assert {"api", "aws", "rekognition", "webhook_inbox"} <= set(written) and written["pid"] == 4321


def test_readers_find_the_file_through_the_variable(tmp_path, monkeypatch):
    where = tmp_path / "endpoints.json"
    where.write_text(json.dumps(ENDPOINTS.to_json()))
    monkeypatch.setenv("LOCAL_ENDPOINTS_FILE", str(where))

    assert read_endpoints()["aws"] == ENDPOINTS.aws


def test_a_file_that_is_not_an_object_is_refused(tmp_path):
    (tmp_path / "e.json").write_text("[]")

    with pytest.raises(ValueError):
        read_endpoints(tmp_path / "e.json")


def test_commands_report_the_missing_file_the_variable_names(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "nowhere.json"
    monkeypatch.setenv("LOCAL_ENDPOINTS_FILE", str(missing))

    assert auth_token.main([]) == 1
    assert str(missing) in capsys.readouterr().err
    assert redrive.main(["UploadsDeadLetterQueue", "--local"]) == 1
    assert "no running local stack (nowhere.json:" in capsys.readouterr().err


def test_the_up_banner_says_which_features_are_on_and_how_to_turn_on_the_others():
    assert "features       labels, properties (FEATURES=labels,properties,faces,moderation,text turns on" in _banner({})
    assert "features       faces, labels, moderation, properties, text\n" in _banner(
        {"FEATURES": "labels,faces,text,moderation,properties"}
    )
