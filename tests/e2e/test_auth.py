"""AUTH=cognito: the local stack puts every route behind the JWT authorizer serverless.yml declares,
with a user pool in the emulator; `python -m local token` gets a token for its test user."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from local.paths import PROJECT_ROOT
from local.stack import LocalSystem, StackOptions
from tests.support.contract import ContractSession
from tests.support.e2e_stack import cli_token as support_cli_token
from tests.support.e2e_stack import cognito_stack_options, ministack_problem

STAGE = "e2e-auth"


@pytest.fixture(scope="module", params=["moto", "ministack"])
def auth_stack(request, tmp_path_factory):
    if request.param == "ministack" and ministack_problem():
        pytest.skip(ministack_problem())
    endpoints = tmp_path_factory.mktemp("auth") / "endpoints.json"
    options = cognito_stack_options(STAGE, endpoints, emulator=request.param)
    with LocalSystem(options) as stack:
        yield stack, endpoints


def http(stack) -> ContractSession:
    """Requests whose responses are checked against docs/openapi.yaml, 401s included."""
    return ContractSession(stack.endpoints.api)


def cli_token(endpoints, user: str | None = None) -> str:
    return support_cli_token(endpoints, STAGE, user)


@pytest.mark.parametrize("path", ["/images", "/images/x", "/?url=http://example.com/a.jpg"])
def test_without_a_token_every_route_is_401(auth_stack, path):
    stack, _ = auth_stack
    response = http(stack).get(stack.endpoints.api + path, timeout=10)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


def test_an_upload_without_a_token_is_401_and_stores_nothing(auth_stack):
    stack, _ = auth_stack
    response = http(stack).post(f"{stack.endpoints.api}/images", json={"url": "http://example.com/a.jpg"}, timeout=10)
    assert response.status_code == 401
    bucket = stack.physical("ImagesBucket")
    assert stack.session().client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize("token", ["Bearer nonsense", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"])
def test_a_bad_token_is_401(auth_stack, token):
    stack, _ = auth_stack
    assert (
        http(stack).get(f"{stack.endpoints.api}/images", headers={"authorization": token}, timeout=10).status_code
        == 401
    )


def test_the_token_command_gives_a_token_the_api_accepts(auth_stack):
    stack, endpoints = auth_stack
    token = cli_token(endpoints)
    response = http(stack).get(
        f"{stack.endpoints.api}/images", headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


def test_a_second_token_for_the_same_user_works_too(auth_stack):
    stack, endpoints = auth_stack
    cli_token(endpoints)
    token = cli_token(endpoints)
    assert http(stack).get(f"{stack.endpoints.api}/images", headers={"authorization": token}, timeout=10).ok


def test_a_second_user_sees_nothing_of_the_first_users_image(auth_stack):
    # The whole isolation matrix runs on the default backend (tests/e2e/test_isolation.py); this is
    # its shortest form, here on each backend's own JWT authorizer.
    stack, endpoints = auth_stack
    api = stack.endpoints.api
    alice = {"authorization": f"Bearer {cli_token(endpoints, 'alice')}"}
    bob = {"authorization": f"Bearer {cli_token(endpoints, 'bob')}"}
    name = f"alice-{uuid.uuid4().hex[:12]}"
    data = (PROJECT_ROOT / "tests" / "fixtures" / "coffee.jpg").read_bytes()
    sent = http(stack).post(
        f"{api}/images?name={name}", data=data, headers={**alice, "content-type": "image/jpeg"}, timeout=30
    )
    assert sent.status_code == 202, sent.text
    image_id = sent.json()["image_id"]
    assert http(stack).get(f"{api}/images/{image_id}", headers=alice, timeout=10).status_code == 200
    answers = [
        http(stack).get(f"{api}{path}", headers=bob, timeout=10)
        for path in (f"/images/{image_id}", f"/images/{image_id}/content", "/images", "/")
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 200, 200]
    assert not [answer.text for answer in answers if image_id in answer.text or name in answer.text]


def test_auth_is_off_by_default():
    assert StackOptions().auth == StackOptions.from_env({}).auth == "none"
    assert StackOptions.from_env({"AUTH": "cognito"}).auth == "cognito"


def test_the_token_command_without_a_stack_says_what_to_do(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "local", "token"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LOCAL_ENDPOINTS_FILE": str(tmp_path / "none.json")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "AUTH=cognito make local" in result.stderr


def test_smoke_takes_the_token_from_the_environment_when_auth_is_on(auth_stack):
    stack, endpoints = auth_stack
    smoke = [sys.executable, "-m", "local", "smoke", "--api", stack.endpoints.api, "--inbox", stack.inbox.url]
    run = {"cwd": PROJECT_ROOT, "capture_output": True, "text": True, "timeout": 90}

    without = subprocess.run(smoke, env={**os.environ, "TOKEN": ""}, **run)
    assert without.returncode == 1 and "FAILED at upload" in without.stdout and "401" in without.stdout

    passed = subprocess.run(smoke, env={**os.environ, "TOKEN": cli_token(endpoints)}, **run)
    assert passed.returncode == 0, passed.stdout + passed.stderr[-3000:]
    assert passed.stdout.strip().splitlines()[-1].startswith("smoke: passed in ")
