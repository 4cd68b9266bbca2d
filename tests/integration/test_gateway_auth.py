"""The gateway's JWT authorizer against Cognito in the emulator: real tokens, the real key set."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from moto.utilities.utils import load_resource

from local.apigateway.gateway import HttpGateway
from local.apigateway.jwt_auth import JwtVerifier
from local.apigateway.routing import Route
from local.aws.credentials import fake_session
from local.aws.emulator import MotoEmulator

REGION = "us-east-1"
PASSWORD = "Correct-Horse-42"


class Cognito:
    """A user pool with one client and one user, in a moto server of its own."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.client = fake_session(REGION, endpoint).client("cognito-idp")
        self.pool_id = self.client.create_user_pool(PoolName="users")["UserPool"]["Id"]
        self.client_id = self.app_client("api")
        self.client.admin_create_user(UserPoolId=self.pool_id, Username="ana@example.com", MessageAction="SUPPRESS")
        self.client.admin_set_user_password(
            UserPoolId=self.pool_id, Username="ana@example.com", Password=PASSWORD, Permanent=True
        )

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def app_client(self, name: str) -> str:
        return self.client.create_user_pool_client(UserPoolId=self.pool_id, ClientName=name)["UserPoolClient"][
            "ClientId"
        ]

    def tokens(self, client_id: str | None = None) -> dict[str, str]:
        return self.client.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=client_id or self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ana@example.com", "PASSWORD": PASSWORD},
        )["AuthenticationResult"]

    def signed_access_token(self, age_seconds: int) -> str:
        """Signed with the pool's own key, as Cognito signs them, issued `age_seconds` ago."""
        key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"))
        issued = int(time.time()) - age_seconds
        claims = {
            "iss": self.issuer,
            "sub": "ana",
            "client_id": self.client_id,
            "token_use": "access",
            "iat": issued,
            "exp": issued + 3600,
        }
        return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.key_id})


@pytest.fixture(scope="module")
def cognito() -> Iterator[Cognito]:
    emulator = MotoEmulator()
    endpoint = emulator.start()
    try:
        yield Cognito(endpoint)
    finally:
        emulator.stop()


@pytest.fixture
def gateway(cognito) -> Iterator[tuple[str, list[dict]]]:
    events: list[dict] = []

    def invoke(function_name: str, event: dict) -> dict:
        events.append(event)
        return {"statusCode": 200, "body": function_name}

    authorizer = JwtVerifier(
        issuer=cognito.issuer,
        audience=[cognito.client_id],
        jwks_url=f"{cognito.endpoint}/{cognito.pool_id}/.well-known/jwks.json",
    )
    routes = [Route("GET", "/private", "private", "cognito"), Route("GET", "/public", "public")]
    with HttpGateway(routes, invoke, authorizers={"cognito": authorizer}) as running:
        yield running.url, events


def get(url: str, token: str | None = None) -> requests.Response:
    return requests.get(url, headers={"authorization": f"Bearer {token}"} if token else {}, timeout=10)


def test_no_token_is_401_and_nothing_is_invoked(gateway):
    url, events = gateway
    response = get(f"{url}/private")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert events == []


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_a_bad_token_is_401(gateway, token):
    url, events = gateway
    assert get(f"{url}/private", token).status_code == 401
    assert events == []


def test_an_expired_token_signed_by_the_pool_is_401(gateway, cognito):
    url, events = gateway
    assert get(f"{url}/private", cognito.signed_access_token(age_seconds=7200)).status_code == 401
    assert events == []
    # The same token, fresh, passes: the refusal above was for its age alone.
    assert get(f"{url}/private", cognito.signed_access_token(age_seconds=0)).status_code == 200


def test_a_token_for_another_client_of_the_pool_is_401(gateway, cognito):
    url, _ = gateway
    other = cognito.tokens(cognito.app_client("other-app"))["AccessToken"]
    assert get(f"{url}/private", other).status_code == 401


@pytest.mark.parametrize("kind", ["AccessToken", "IdToken"])
def test_a_valid_token_is_200_with_its_claims_in_the_event(gateway, cognito, kind):
    url, events = gateway
    response = get(f"{url}/private", cognito.tokens()[kind])
    assert (response.status_code, response.text) == (200, "private")
    claims = events[-1]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["iss"] == cognito.issuer and claims["token_use"] == ("access" if kind == "AccessToken" else "id")
    assert all(isinstance(value, str) for value in claims.values()), json.dumps(claims)


def test_a_route_without_an_authorizer_needs_no_token(gateway):
    url, events = gateway
    assert get(f"{url}/public").status_code == 200
    assert "authorizer" not in events[-1]["requestContext"]


def test_a_route_naming_an_unknown_authorizer_is_a_configuration_error():
    with pytest.raises(ValueError, match="cognito"):
        HttpGateway([Route("GET", "/", "f", "cognito")], lambda name, event: None)
