"""The system as `serverless.yml` declares it, read for one stage.

This is the only description of the system the local stack uses: functions with their handlers,
environment and events, and the resources under `resources.Resources`. `reader` resolves the
Serverless variables; `resolution` resolves the CloudFormation intrinsics once the emulator has
given every resource its physical name; `model` holds what both produce.
"""

from local.topology.model import (
    Bucket,
    BucketNotification,
    DeclaredJwtAuthorizer,
    Function,
    HttpRoute,
    KmsAlias,
    KmsKey,
    Queue,
    SqsTrigger,
    Subscription,
    Table,
    Topic,
    Topology,
    TopologyError,
    UserPool,
    UserPoolClient,
)
from local.topology.reader import load
from local.topology.resolution import PhysicalIds, resolve

__all__ = [
    "Bucket",
    "BucketNotification",
    "Function",
    "HttpRoute",
    "KmsAlias",
    "KmsKey",
    "DeclaredJwtAuthorizer",
    "PhysicalIds",
    "Queue",
    "SqsTrigger",
    "Subscription",
    "Table",
    "Topic",
    "Topology",
    "TopologyError",
    "UserPool",
    "UserPoolClient",
    "load",
    "resolve",
]
