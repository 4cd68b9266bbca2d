"""An API Gateway HTTP API JWT authorizer, for the local gateway.

What the managed authorizer does, and so this one:
- the token comes from the identity source header (`Authorization`), with or without `Bearer `;
- it must be an RS256 JWT signed by a key of the issuer's JWKS (found by `kid`);
- `iss` must equal the configured issuer; `exp` must be in the future, `nbf` and `iat` in the past;
- `aud` must be one of the configured audiences, or, when a token has no `aud` (Cognito access
  tokens), `client_id` must be; a Cognito `token_use` other than `id` or `access` is refused;
- anything else is 401 `{"message":"Unauthorized"}`, and the function is not invoked;
- the claims reach the function as `requestContext.authorizer.jwt.claims`, every value a string,
  with the `scope` claim split into `scopes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

ALGORITHMS = ["RS256"]
TOKEN_USES = ("id", "access")
_BEARER = re.compile(r"^bearer(\s+|$)", re.IGNORECASE)


class Unauthorized(Exception):
    """The request carries no acceptable token; the message says why (logged, never sent)."""


class JwtVerifier:
    """Checks each request's token as the HTTP API's JWT authorizer would; serverless.yml declares the
    authorizer (local/topology/model.py's DeclaredJwtAuthorizer), the stack builds one of these from it."""

    def __init__(
        self,
        issuer: str,
        audience: Sequence[str],
        jwks_url: str,
        identity_source: str = "$request.header.Authorization",
        jwk_client: Any = None,
    ):
        prefix = "$request.header."
        if not identity_source.startswith(prefix):
            raise ValueError(f"only header identity sources are supported locally, not {identity_source!r}")
        self.header = identity_source.removeprefix(prefix).lower()
        self.issuer = issuer
        self.audience = tuple(audience)
        self._keys = jwk_client or jwt.PyJWKClient(jwks_url, cache_keys=True, timeout=5)

    def authorize(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The `requestContext.authorizer` of the event, or Unauthorized."""
        token = self._token(headers)
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWKClientError as error:
            raise Unauthorized(f"no signing key for the token: {error}") from error
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"invalid token: {error}") from error
        self._check_audience(claims)
        scope = claims.get("scope")
        return {
            "jwt": {
                "claims": {k: _claim_text(v) for k, v in claims.items()},
                "scopes": scope.split() if scope else None,
            }
        }

    def _token(self, headers: Mapping[str, str]) -> str:
        value = _BEARER.sub("", (headers.get(self.header) or "").strip())
        if not value:
            raise Unauthorized(f"no token in the {self.header} header")
        return value

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        token_use = claims.get("token_use")
        if token_use is not None and token_use not in TOKEN_USES:
            raise Unauthorized(f"token_use {token_use!r} is neither id nor access")
        audiences = claims["aud"] if "aud" in claims else claims.get("client_id")
        given = set(audiences) if isinstance(audiences, list) else {audiences}
        if not given & set(self.audience):
            raise Unauthorized(f"audience {audiences!r} is not one of {list(self.audience)}")


def _claim_text(value: Any) -> str:
    # API Gateway flattens claims to strings: arrays as "[a b]", numbers and booleans as text.
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
