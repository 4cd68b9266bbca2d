"""Which unsigned requests AWS serves, and how it refuses the others.

AWS answers a few calls without a signature: a user pool's key set and OpenID configuration, and
the Cognito user-pool operations a client makes before it has credentials (or with a user's
token instead of them). A browser's CORS preflight to S3 carries no signature either, and the S3
gate behind the IAM layer answers it by the bucket's rules. The emulator's own control routes
(`/moto-api/...`) are not AWS; they serve the stack's tools on loopback. Every other unsigned
request is refused, as AWS refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Cognito user-pool operations AWS documents as unauthenticated, or authorized by a user's token.
COGNITO_PUBLIC_OPERATIONS = frozenset(
    {
        "InitiateAuth",
        "RespondToAuthChallenge",
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "GetUser",
        "ChangePassword",
        "GlobalSignOut",
        "RevokeToken",
    }
)
_COGNITO_TARGET = "AWSCognitoIdentityProviderService."
_PUBLIC_SUFFIXES = ("/.well-known/jwks.json", "/.well-known/openid-configuration")


def is_public(environ: Mapping[str, Any]) -> bool:
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    if method == "OPTIONS" or path.startswith("/moto-api/"):
        return True
    if method == "GET" and path.endswith(_PUBLIC_SUFFIXES):
        return True
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.startswith(_COGNITO_TARGET) and target.removeprefix(_COGNITO_TARGET) in COGNITO_PUBLIC_OPERATIONS


def unsigned_refusal(environ: Mapping[str, Any]) -> tuple[int, str, str, str]:
    """(status, protocol, code, message) of AWS's answer to an unsigned request it does not serve."""
    where = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
    if environ.get("HTTP_X_AMZ_TARGET"):
        message = f"Missing Authentication Token: {where} is not signed, and only public calls may be"
        return 400, "json", "MissingAuthenticationTokenException", message
    if "Action=" in environ.get("QUERY_STRING", "") or environ.get("CONTENT_TYPE", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        message = f"Request is missing Authentication Token: {where} is not signed"
        return 403, "query", "MissingAuthenticationToken", message
    return (
        403,
        "rest-xml",
        "AccessDenied",
        f"Access Denied: {where} is anonymous, and nothing here is public",
    )
