"""Each function's role, read from serverless.yml as CloudFormation would create it, with credentials.

A function calls AWS as `arn:aws:sts::<account>:assumed-role/<role name>/<function>`, with an
access key of its own, so the authorizing layer in front of the emulator knows which role's
statements to apply. Inline policies come from the role's `Policies`; managed policies from the
short table below, the only ones this project attaches (anything else is refused at start).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.aws.iam.policy import Statement, parse, unsupported_conditions
from local.errors import StackError
from local.topology import PhysicalIds, Topology, resolve

# AWS's own managed policies, as AWS publishes them.
MANAGED_POLICIES: Mapping[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ]
    },
}


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def environment(self) -> dict[str, str]:
        # An empty session token replaces the stack's own: the role's keys are long-term ones.
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_SESSION_TOKEN": ""}


@dataclass(frozen=True)
class FunctionRole:
    function: str
    role_logical_id: str
    role_name: str
    arn: str  # the assumed-role session ARN AWS names in its denials
    credentials: Credentials
    statements: tuple[Statement, ...]


class RoleCredentials:
    """One access key per function, made once per stack, so planned and final specs agree."""

    def __init__(self) -> None:
        self._issued: dict[str, Credentials] = {}

    def for_function(self, name: str) -> Credentials:
        if name not in self._issued:
            self._issued[name] = Credentials(
                access_key="ASIALOCAL" + secrets.token_hex(6).upper(), secret_key=secrets.token_urlsafe(30)
            )
        return self._issued[name]


def function_roles(topology: Topology, ids: PhysicalIds, credentials: RoleCredentials) -> list[FunctionRole]:
    """Raises StackError for a function without a role of this stack, an unknown managed policy,
    or a condition the local layer does not evaluate: each would make local and AWS differ."""
    account = ids.pseudo["AWS::AccountId"]
    roles = []
    for function in topology.functions:
        logical_id = function.role
        resource = topology.resources.get(logical_id or "")
        if not logical_id or (resource or {}).get("Type") != "AWS::IAM::Role":
            raise StackError(
                f"function {function.name}: `role:` must name an AWS::IAM::Role of this stack, so that "
                f"the local stack can enforce it (got {logical_id!r})"
            )
        statements = _role_statements(logical_id, resolve(dict(resource.get("Properties") or {}), ids))
        unsupported = unsupported_conditions(statements)
        if unsupported:
            raise StackError(f"role {logical_id}: conditions not evaluated locally: {', '.join(unsupported)}")
        role_name = f"{topology.stack_name}-{logical_id}"
        roles.append(
            FunctionRole(
                function=function.name,
                role_logical_id=logical_id,
                role_name=role_name,
                arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{topology.stack_name}-{function.name}",
                credentials=credentials.for_function(function.name),
                statements=statements,
            )
        )
    return roles


def _role_statements(logical_id: str, properties: Mapping[str, Any]) -> tuple[Statement, ...]:
    statements: list[Statement] = []
    for arn in properties.get("ManagedPolicyArns") or []:
        known = MANAGED_POLICIES.get(str(arn).replace("arn:aws-us-gov:", "arn:aws:"))
        if known is None:
            raise StackError(f"role {logical_id}: managed policy {arn} is not known to the local stack")
        statements.extend(parse(known))
    for policy in properties.get("Policies") or []:
        statements.extend(parse(policy.get("PolicyDocument") or {}))
    return tuple(statements)
