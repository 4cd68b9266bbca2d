"""The system as `serverless.yml` declares it: the resources and functions the local stack builds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class TopologyError(ValueError):
    """serverless.yml uses something the local stack cannot reproduce; the message says what."""


@dataclass(frozen=True)
class Queue:
    logical_id: str
    visibility_timeout: int
    dead_letter_queue: str | None = None  # logical id
    max_receive_count: int | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Topic:
    logical_id: str


@dataclass(frozen=True)
class Subscription:
    logical_id: str
    topic: str  # logical id
    queue: str  # logical id
    raw_message_delivery: bool


@dataclass(frozen=True)
class BucketNotification:
    event: str
    topic: str  # logical id
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    name: Any  # an intrinsic expression, or None for a generated name
    notifications: tuple[BucketNotification, ...] = ()
    cors_rules: tuple[Mapping[str, Any], ...] = ()  # CorsConfiguration.CorsRules, as written
    # VersioningConfiguration.Status is Enabled: S3 events then carry a versionId, and reading a
    # version takes s3:GetObjectVersion.
    versioned: bool = False


@dataclass(frozen=True)
class Table:
    logical_id: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function: str
    authorizer: str | None = None  # a name in Topology.authorizers


@dataclass(frozen=True)
class DeclaredJwtAuthorizer:
    """A JWT authorizer as serverless.yml declares it for the HTTP API; issuer and audience may still
    hold intrinsics. local/apigateway/jwt_auth.py's JwtVerifier checks tokens against it."""

    name: str
    identity_source: str
    issuer: Any
    audience: tuple[Any, ...]


@dataclass(frozen=True)
class UserPool:
    logical_id: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class UserPoolClient:
    logical_id: str
    user_pool: str  # logical id
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class KmsKey:
    logical_id: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class KmsAlias:
    logical_id: str
    key: str  # the logical id of the key it names
    name: Any  # AliasName, which may still hold intrinsics


@dataclass(frozen=True)
class SqsTrigger:
    function: str
    queue: str  # logical id
    batch_size: int
    maximum_batching_window: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency


@dataclass(frozen=True)
class Function:
    name: str
    handler: str
    timeout: int
    memory_mb: int
    environment: Mapping[str, Any]  # values may still hold intrinsics
    role: str | None
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class Topology:
    service: str
    stage: str
    region: str
    functions: tuple[Function, ...]
    routes: tuple[HttpRoute, ...]
    sqs_triggers: tuple[SqsTrigger, ...]
    buckets: tuple[Bucket, ...]
    topics: tuple[Topic, ...]
    queues: tuple[Queue, ...]
    subscriptions: tuple[Subscription, ...]
    tables: tuple[Table, ...]
    unsupported: tuple[str, ...]  # resource types declared but not reproduced locally, e.g. IAM roles
    authorizers: tuple[DeclaredJwtAuthorizer, ...] = ()
    user_pools: tuple[UserPool, ...] = ()
    user_pool_clients: tuple[UserPoolClient, ...] = ()
    kms_keys: tuple[KmsKey, ...] = ()
    kms_aliases: tuple[KmsAlias, ...] = ()
    # The HTTP API stage's DefaultRouteSettings throttle: requests per second and burst; None if off.
    api_throttle: tuple[float, int] | None = None
    # Every resource as declared, by logical id: IAM roles and resource policies are read from it.
    resources: Mapping[str, Any] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return f"{self.service}-{self.stage}"

    def concurrency_limit(self, name: str) -> int | None:
        """What bounds the function's concurrency on AWS: its reserved concurrency, else the
        largest MaximumConcurrency of its SQS event sources; None when only the account does."""
        function = self.function(name)
        limits = [t.maximum_concurrency for t in self.sqs_triggers if t.function == name and t.maximum_concurrency]
        if function.reserved_concurrency is not None:
            return function.reserved_concurrency
        return max(limits) if limits else None

    def function(self, name: str) -> Function:
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(name)
