"""`python -m local token`: a JWT for the running stack's test user, when the stack has AUTH=cognito.

The user pool and its client are the ones serverless.yml declares, found in the stack's emulator
by their names. The test user is created on first use and given a fresh random password each time,
so no password is stored anywhere; the token is an access token, as an API client would send.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from typing import Any

from local import topology as topology_module
from local.aws.credentials import fake_session
from local.endpoints import endpoints_file, read_endpoints
from local.topology import PhysicalIds, Topology, resolve

TEST_USER = "test-user@example.com"
# The pool signs users in by email (UsernameAttributes: [email]): a plain name such as `alice` is
# made an address in a domain reserved for tests, so `--user alice` and `--user bob` are two users.
PLAIN_NAME_DOMAIN = "example.test"
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


class TokenError(RuntimeError):
    """No token can be issued; the message says what to do."""


def user_email(user: str) -> str:
    """The pool's username for `--user`: an email as given, or a plain name in PLAIN_NAME_DOMAIN."""
    if "@" in user:
        return user
    if not PLAIN_NAME.fullmatch(user):
        raise TokenError(f"--user {user!r} is neither an email nor a plain name (letters, digits, . _ + -)")
    return f"{user}@{PLAIN_NAME_DOMAIN}"


def issue_token(cognito: Any, topology: Topology, user: str = TEST_USER) -> str:
    """An access token from the topology's user pool, for `user` (created if missing)."""
    username = user_email(user)
    pool_id, client_id = _find_pool_and_client(cognito, topology)
    password = secrets.token_urlsafe(24) + "aA1"  # meets the pool's policy: length, cases, a digit
    try:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}],
        )
    except cognito.exceptions.UsernameExistsException:
        pass  # made by an earlier call: a new password below is all it needs
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return result["AuthenticationResult"]["AccessToken"]


def _find_pool_and_client(cognito: Any, topology: Topology) -> tuple[str, str]:
    if not topology.user_pools or not topology.user_pool_clients:
        raise TokenError("serverless.yml declares no user pool for this stage; start the stack with AUTH=cognito")
    names = PhysicalIds(refs={}, attributes={}, pseudo={"AWS::StackName": topology.stack_name})
    pool, client = topology.user_pools[0], topology.user_pool_clients[0]
    pool_name = resolve(pool.properties.get("UserPoolName"), names)
    pool_ids = [p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == pool_name]
    if not pool_ids:
        raise TokenError(f"the running stack has no user pool {pool_name!r}: start it with AUTH=cognito")
    clients = cognito.list_user_pool_clients(UserPoolId=pool_ids[0], MaxResults=60)["UserPoolClients"]
    client_ids = [c["ClientId"] for c in clients if c["ClientName"] == client.properties.get("ClientName")]
    if not client_ids:
        raise TokenError(f"user pool {pool_name!r} has no client {client.properties.get('ClientName')!r}")
    return pool_ids[0], client_ids[0]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local token", description=__doc__)
    parser.add_argument("--stage", default="local")
    parser.add_argument(
        "--user", default=TEST_USER, help="an email, or a plain name such as alice (alice@example.test)"
    )
    args = parser.parse_args(argv)
    where = endpoints_file()
    if not where.exists():
        print(f"token: no running stack ({where} is missing): run `AUTH=cognito make local`", file=sys.stderr)
        return 1
    topology = topology_module.load(args.stage, params={"auth": "cognito"})
    cognito = fake_session(topology.region, read_endpoints(where)["aws"]).client("cognito-idp")
    try:
        print(issue_token(cognito, topology, args.user))
    except TokenError as error:
        print(f"token: {error}", file=sys.stderr)
        return 1
    return 0
