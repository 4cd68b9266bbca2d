"""IAM and resource policies enforced on the local stack, as AWS enforces them.

`LocalIam` is what the stack uses: credentials for each function's role, the authorizing layer
in front of the emulator (guard.py), and the delivery checks of the topic and queue policies
(resource_policies.py). What it does not evaluate is refused at start or listed in docs/fidelity.md.
"""

from __future__ import annotations

import json
from typing import Any

from local.aws.credentials import ADMIN_ACCESS_KEY, FAKE_CREDENTIALS, boto3_session
from local.aws.iam.guard import AccessGuard
from local.aws.iam.policy import Request, Statement, decide
from local.aws.iam.resource_policies import bucket_policies, honor_delivery_policies
from local.aws.iam.roles import FunctionRole, RoleCredentials, function_roles
from local.topology import PhysicalIds, Topology, resolve

__all__ = ["AccessGuard", "FunctionRole", "LocalIam"]

DETECT_OPERATIONS = ("DetectLabels", "DetectFaces", "DetectText", "DetectModerationLabels")


class LocalIam:
    def __init__(self, account_id: str):
        self.credentials = RoleCredentials()
        self.guard = AccessGuard(account_id)
        self.warnings: list[str] = []
        self.roles: dict[str, FunctionRole] = {}

    def configure(self, topology: Topology, ids: PhysicalIds) -> Topology:
        """Loads the roles and bucket policies for these ids; returns the topology without the
        deliveries whose resource policies AWS would refuse. Raises StackError for a role or
        policy the layer cannot enforce faithfully."""
        roles = function_roles(topology, ids, self.credentials)
        self.roles = {role.function: role for role in roles}
        self.guard.configure(roles, bucket_policies(topology, ids), kms_aliases(topology, ids))
        honored, warnings = honor_delivery_policies(topology, ids)
        # Called again with the final ids on a topology already honored: keep the first warnings.
        self.warnings = list(dict.fromkeys([*self.warnings, *warnings]))
        return honored

    def function_environment(self, function_name: str) -> dict[str, str]:
        return self.credentials.for_function(function_name).environment()

    def rekognition_callers(self, topology: Topology, aws_endpoint: str) -> str:
        """For the local Rekognition service (local/rekognition/callers.py): each access key it may be
        called with, the caller's ARN, its secret (Rekognition reads S3 as its caller) and the Detect*
        operations its policies allow. Rekognition's Detect* actions take no resource, so they are
        decided once, on `*`. Worked out from the planned ids: the service starts before the
        resources exist, and neither keys nor these decisions depend on the final ids."""
        from local.aws.provision import Provisioner

        planned = Provisioner(topology, None, account_id=self.guard.account_id).plan(aws_endpoint)
        callers = {
            role.credentials.access_key: {
                "arn": role.arn,
                "secret": role.credentials.secret_key,
                "allowed": [o for o in DETECT_OPERATIONS if _allows(role.statements, f"rekognition:{o}")],
            }
            for role in function_roles(topology, planned, self.credentials)
        }
        callers[ADMIN_ACCESS_KEY] = {
            "arn": f"arn:aws:iam::{self.guard.account_id}:root",
            "secret": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "allowed": list(DETECT_OPERATIONS),
        }
        return json.dumps(callers)

    def session(self, function_name: str, region: str) -> Any:
        credentials = self.credentials.for_function(function_name)
        return boto3_session(
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            region_name=region,
        )

    def problems(self) -> list[str]:
        """What the policies refused so far: dropped deliveries, then denied calls."""
        return [*self.warnings, *self.guard.denials]


def _allows(statements: tuple[Statement, ...], action: str) -> bool:
    return decide(statements, Request(action, "*")) == "Allow"


def kms_aliases(topology: Topology, ids: PhysicalIds) -> dict[str, str]:
    """Each KMS alias of the stack, by name, to its key's ARN."""
    return {resolve(alias.name, ids): ids.attributes[(alias.key, "Arn")] for alias in topology.kms_aliases}
