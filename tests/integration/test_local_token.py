"""`python -m local token --user NAME`: a plain name or an email, against a pool that signs in by email."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from moto import mock_aws

from local import topology as topology_module
from local.aws.provision import Provisioner
from local.commands.auth_token import TokenError, issue_token, user_email


@pytest.fixture
def pool(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        topology = topology_module.load("local", env={}, params={"auth": "cognito"})
        session = boto3.session.Session(region_name=topology.region)
        Provisioner(topology, session).provision()
        yield session.client("cognito-idp"), topology


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_plain_name_and_an_email_each_get_a_token_of_their_own_user(pool):
    cognito, topology = pool
    alice, bob, carol = (claims(issue_token(cognito, topology, user)) for user in ("alice", "bob", "carol@example.com"))
    assert len({alice["sub"], bob["sub"], carol["sub"]}) == 3
    # The same name again is the same user: a new token, the same owner.
    assert claims(issue_token(cognito, topology, "alice"))["sub"] == alice["sub"]


def test_a_plain_name_becomes_an_address_in_the_test_domain():
    assert user_email("alice") == "alice@example.test"
    assert user_email("bob@example.com") == "bob@example.com"
    with pytest.raises(TokenError):
        user_email("not a name")
