"""The local JWT authorizer accepts what API Gateway's accepts, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from local.apigateway.jwt_auth import JwtVerifier, Unauthorized

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT = "client-123"


@pytest.fixture(scope="module")
def pool_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Jwks:
    """The pool's published keys, by kid, as PyJWKClient would give them."""

    def __init__(self, keys):
        self.keys = keys

    def get_signing_key_from_jwt(self, token):
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self.keys:
            raise jwt.PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
        return SimpleNamespace(key=self.keys[kid])


@pytest.fixture
def authorizer(pool_key):
    return JwtVerifier(ISSUER, [CLIENT], "unused", jwk_client=Jwks({"pool": pool_key.public_key()}))


def token(key, kid="pool", algorithm="RS256", **overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": "user-1",
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "exp": now + 3600,
        "username": "test-user@example.com",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def test_a_valid_access_token_gives_string_claims_and_scopes(authorizer, pool_key):
    context = authorizer.authorize({"authorization": f"Bearer {token(pool_key)}"})
    claims = context["jwt"]["claims"]
    assert claims["sub"] == "user-1" and claims["client_id"] == CLIENT
    assert isinstance(claims["exp"], str) and claims["exp"].isdigit()
    assert context["jwt"]["scopes"] == ["aws.cognito.signin.user.admin"]


def test_a_valid_id_token_is_matched_on_aud_and_bearer_is_optional(authorizer, pool_key):
    id_token = token(pool_key, token_use="id", client_id=None, aud=CLIENT, scope=None, groups=["a", "b"])
    context = authorizer.authorize({"authorization": id_token})
    assert context["jwt"]["claims"]["aud"] == CLIENT and context["jwt"]["scopes"] is None
    assert context["jwt"]["claims"]["groups"] == "[a b]"


@pytest.mark.parametrize("headers", [{}, {"authorization": ""}, {"authorization": "Bearer "}])
def test_no_token_is_unauthorized(authorizer, headers):
    with pytest.raises(Unauthorized, match="no token"):
        authorizer.authorize(headers)


def test_garbage_is_unauthorized(authorizer):
    with pytest.raises(Unauthorized):
        authorizer.authorize({"authorization": "Bearer not.a.jwt"})


def test_an_expired_token_is_unauthorized(authorizer, pool_key):
    with pytest.raises(Unauthorized, match="expired"):
        authorizer.authorize({"authorization": token(pool_key, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)})


def test_a_token_without_expiry_is_unauthorized(authorizer, pool_key):
    with pytest.raises(Unauthorized, match="exp"):
        authorizer.authorize({"authorization": token(pool_key, exp=None)})


def test_another_issuer_is_unauthorized(authorizer, pool_key):
    with pytest.raises(Unauthorized, match="issuer"):
        authorizer.authorize({"authorization": token(pool_key, iss="https://cognito-idp.us-east-1.amazonaws.com/x")})


def test_another_client_is_unauthorized(authorizer, pool_key):
    with pytest.raises(Unauthorized, match="audience"):
        authorizer.authorize({"authorization": token(pool_key, client_id="someone-else")})


def test_a_refresh_style_token_use_is_unauthorized(authorizer, pool_key):
    with pytest.raises(Unauthorized, match="token_use"):
        authorizer.authorize({"authorization": token(pool_key, token_use="refresh")})


def test_a_signature_by_another_key_under_the_pools_kid_is_unauthorized(authorizer, other_key):
    with pytest.raises(Unauthorized, match="invalid token"):
        authorizer.authorize({"authorization": token(other_key)})


def test_an_unknown_kid_is_unauthorized(authorizer, pool_key):
    with pytest.raises(Unauthorized, match="no signing key"):
        authorizer.authorize({"authorization": token(pool_key, kid="elsewhere")})


def test_an_hmac_token_keyed_with_the_public_key_is_refused(authorizer, pool_key):
    # The classic algorithm confusion: HS256 "signed" with the published RSA key as the secret.
    public_pem = pool_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "pool"})
    payload = _b64({"iss": ISSUER, "client_id": CLIENT, "token_use": "access", "exp": int(time.time()) + 60})
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized, match="alg value is not allowed"):
        authorizer.authorize({"authorization": forged})


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_only_header_identity_sources_are_supported():
    with pytest.raises(ValueError, match="header"):
        JwtVerifier(ISSUER, [CLIENT], "unused", identity_source="$request.querystring.token", jwk_client=Jwks({}))
