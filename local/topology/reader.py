"""Reads `serverless.yml` for one stage into the model.

Serverless variables (`${sls:stage}`, `${param:...}`, `${self:...}`, `${opt:...}`, `${env:...}`) are
resolved here; CloudFormation intrinsics (Ref, Fn::GetAtt, Fn::Sub, Fn::Join) are resolved later by
`resolve`, once the emulator has given every resource its physical name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from local.paths import SERVERLESS_YML
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

# libyaml's parser when PyYAML was built with it: serverless.yml parses in a tenth of the time
# (tests and `make local` read it often); the same documents come out of either.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Serverless variables have a `source:` prefix; CloudFormation's `${AWS::Region}` and
# `${Bucket.Arn}` inside Fn::Sub do not match and are left for `resolve`.
_VARIABLE = re.compile(r"\$\{(sls|self|opt|param|env):([^{}]*)\}")


def load(
    stage: str = "local",
    path: Path = SERVERLESS_YML,
    env: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> Topology:
    """`params` override the stage's parameters, as `sls --param="name=value"` does."""
    document = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    variables = _Variables(document, stage, os.environ if env is None else env, params or {})
    return _build(variables.resolve(document), stage)


# --- serverless variables ---------------------------------------------------------------------------
class _Variables:
    def __init__(self, document: dict[str, Any], stage: str, env: Mapping[str, str], overrides: Mapping[str, str]):
        self.document = document
        self.stage = stage
        self.env = env
        params = document.get("params") or {}
        self.params = {**(params.get("default") or {}), **(params.get(stage) or {}), **overrides}
        self.options = {"stage": stage, "region": env.get("AWS_REGION", "us-east-1")}

    def resolve(self, value: Any, depth: int = 0) -> Any:
        if depth > 20:
            raise TopologyError("serverless variables nest too deeply (a cycle?)")
        if isinstance(value, dict):
            return {k: self.resolve(v, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, depth) for v in value]
        if not isinstance(value, str):
            return value
        whole = _VARIABLE.fullmatch(value)
        if whole:  # a whole-string variable keeps the type of what it points at
            return self.resolve(self._lookup(whole.group(1), whole.group(2)), depth + 1)
        if _VARIABLE.search(value):
            replaced = _VARIABLE.sub(lambda m: str(self._lookup(m.group(1), m.group(2))), value)
            return self.resolve(replaced, depth + 1)
        return value

    def _lookup(self, source: str, address: str) -> Any:
        address, has_default, default = _split_default(address)
        value: Any = None
        if source == "sls" and address == "stage":
            value = self.stage
        elif source == "opt":
            value = self.options.get(address)
        elif source == "param":
            value = self.params.get(address)
        elif source == "env":
            value = self.env.get(address)
        elif source == "self":
            value = self.document
            for part in address.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        else:
            raise TopologyError(f"unsupported variable ${{{source}:{address}}}")
        if value is None:
            if not has_default:
                raise TopologyError(f"variable ${{{source}:{address}}} has no value for stage {self.stage!r}")
            return default
        return value


def _split_default(address: str) -> tuple[str, bool, str | None]:
    """`name, 'text'` falls back to the text; `name, null` to nothing at all, as in osls."""
    if "," not in address:
        return address.strip(), False, None
    name, default = (part.strip() for part in address.split(",", 1))
    if default == "null":
        return name, True, None
    return name, True, default.strip("'\"")


# --- building the model ------------------------------------------------------------------------------
def _build(document: dict[str, Any], stage: str) -> Topology:
    provider = document.get("provider") or {}
    resources = _merged_resources(document.get("resources"))
    functions, routes, triggers = [], [], []
    for name, spec in (document.get("functions") or {}).items():
        functions.append(
            Function(
                name=name,
                handler=spec["handler"],
                timeout=int(spec.get("timeout", provider.get("timeout", 6))),
                memory_mb=int(spec.get("memorySize", provider.get("memorySize", 1024))),
                environment={**(provider.get("environment") or {}), **(spec.get("environment") or {})},
                role=spec.get("role"),
                reserved_concurrency=_optional_int(spec.get("reservedConcurrency")),
            )
        )
        for event in spec.get("events") or []:
            if "httpApi" in event:
                http = event["httpApi"]
                routes.append(
                    HttpRoute(
                        method=str(http["method"]).upper(),
                        path=http["path"],
                        function=name,
                        authorizer=_authorizer_name(http.get("authorizer")),
                    )
                )
            elif "sqs" in event:
                sqs = event["sqs"]
                triggers.append(
                    SqsTrigger(
                        function=name,
                        queue=_logical_id_of_arn(sqs["arn"]),
                        batch_size=int(sqs.get("batchSize", 10)),
                        maximum_batching_window=int(sqs.get("maximumBatchingWindow", 0)),
                        report_batch_item_failures=sqs.get("functionResponseType") == "ReportBatchItemFailures",
                        maximum_concurrency=_optional_int(sqs.get("maximumConcurrency")),
                    )
                )
            else:
                raise TopologyError(f"function {name}: event type {sorted(event)} is not supported locally")

    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for logical_id, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append((logical_id, resource.get("Properties") or {}))
    reproduced = {
        "AWS::S3::Bucket",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::SNS::Subscription",
        "AWS::DynamoDB::Table",
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolClient",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
    }
    return Topology(
        service=document["service"],
        stage=stage,
        region=str(provider.get("region", "us-east-1")),
        functions=tuple(functions),
        routes=tuple(routes),
        sqs_triggers=tuple(triggers),
        buckets=tuple(_bucket(i, p) for i, p in by_type.get("AWS::S3::Bucket", [])),
        topics=tuple(Topic(i) for i, _ in by_type.get("AWS::SNS::Topic", [])),
        queues=tuple(_queue(i, p) for i, p in by_type.get("AWS::SQS::Queue", [])),
        subscriptions=tuple(_subscription(i, p) for i, p in by_type.get("AWS::SNS::Subscription", [])),
        tables=tuple(Table(i, p) for i, p in by_type.get("AWS::DynamoDB::Table", [])),
        unsupported=tuple(sorted({t for t in by_type if t not in reproduced})),
        authorizers=_authorizers((provider.get("httpApi") or {}).get("authorizers") or {}),
        user_pools=tuple(UserPool(i, p) for i, p in by_type.get("AWS::Cognito::UserPool", [])),
        user_pool_clients=tuple(
            UserPoolClient(i, _ref(p["UserPoolId"], "UserPoolId"), p)
            for i, p in by_type.get("AWS::Cognito::UserPoolClient", [])
        ),
        kms_keys=tuple(KmsKey(i, p) for i, p in by_type.get("AWS::KMS::Key", [])),
        kms_aliases=tuple(
            KmsAlias(i, _ref(p["TargetKeyId"], "TargetKeyId"), p["AliasName"])
            for i, p in by_type.get("AWS::KMS::Alias", [])
        ),
        api_throttle=_api_throttle(document.get("resources")),
        resources=resources,
    )


def _optional_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _api_throttle(resources: Any) -> tuple[float, int] | None:
    """The throttle `resources.extensions` puts on the HTTP API stage osls generates."""
    blocks = resources if isinstance(resources, list) else [resources]
    for block in blocks:
        stage = ((block or {}).get("extensions") or {}).get("HttpApiStage") or {}
        settings = (stage.get("Properties") or {}).get("DefaultRouteSettings") or {}
        if "ThrottlingRateLimit" in settings:
            return float(settings["ThrottlingRateLimit"]), int(settings.get("ThrottlingBurstLimit", 0))
    return None


def _merged_resources(resources: Any) -> dict[str, Any]:
    """`resources:` is one block or, as osls also allows, a list of blocks merged in order."""
    blocks = resources if isinstance(resources, list) else [resources]
    merged: dict[str, Any] = {}
    for block in blocks:
        merged.update((block or {}).get("Resources") or {})
    return merged


def _authorizer_name(authorizer: Any) -> str | None:
    if authorizer is None or isinstance(authorizer, str):
        return authorizer
    return authorizer["name"]


def _authorizers(declared: Mapping[str, Any]) -> tuple[DeclaredJwtAuthorizer, ...]:
    authorizers = []
    for name, spec in declared.items():
        if spec.get("type") != "jwt":
            raise TopologyError(f"authorizer {name}: only JWT authorizers are reproduced locally")
        source = spec.get("identitySource", "$request.header.Authorization")
        audience = spec.get("audience") or []
        authorizers.append(
            DeclaredJwtAuthorizer(
                name=spec.get("name", name),
                identity_source=source[0] if isinstance(source, list) else source,
                issuer=spec["issuerUrl"],
                audience=tuple(audience if isinstance(audience, list) else [audience]),
            )
        )
    return tuple(authorizers)


def _logical_id_of_arn(expression: Any) -> str:
    if isinstance(expression, dict) and "Fn::GetAtt" in expression:
        return expression["Fn::GetAtt"][0]
    raise TopologyError(f"an SQS event's arn must be Fn::GetAtt [Queue, Arn]; got {expression!r}")


def _ref(expression: Any, what: str) -> str:
    if isinstance(expression, dict) and "Ref" in expression:
        return expression["Ref"]
    if isinstance(expression, dict) and "Fn::GetAtt" in expression:
        return expression["Fn::GetAtt"][0]
    raise TopologyError(f"{what} must reference a resource of this stack; got {expression!r}")


def _queue(logical_id: str, properties: dict[str, Any]) -> Queue:
    redrive = properties.get("RedrivePolicy") or {}
    return Queue(
        logical_id=logical_id,
        visibility_timeout=int(properties.get("VisibilityTimeout", 30)),
        dead_letter_queue=_ref(redrive["deadLetterTargetArn"], "deadLetterTargetArn") if redrive else None,
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
        properties=properties,
    )


def _subscription(logical_id: str, properties: dict[str, Any]) -> Subscription:
    if properties.get("Protocol") != "sqs":
        raise TopologyError(f"{logical_id}: only sqs subscriptions are reproduced locally")
    return Subscription(
        logical_id=logical_id,
        topic=_ref(properties["TopicArn"], "TopicArn"),
        queue=_ref(properties["Endpoint"], "Endpoint"),
        raw_message_delivery=str(properties.get("RawMessageDelivery", "false")).lower() == "true",
    )


def _bucket(logical_id: str, properties: dict[str, Any]) -> Bucket:
    notifications = []
    for config in (properties.get("NotificationConfiguration") or {}).get("TopicConfigurations") or []:
        rules = {
            r["Name"].lower(): r["Value"] for r in ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
        }
        notifications.append(
            BucketNotification(
                event=config["Event"],
                topic=_ref(config["Topic"], "Topic"),
                prefix=rules.get("prefix", ""),
                suffix=rules.get("suffix", ""),
            )
        )
    return Bucket(
        logical_id=logical_id,
        name=properties.get("BucketName"),
        notifications=tuple(notifications),
        cors_rules=tuple((properties.get("CorsConfiguration") or {}).get("CorsRules") or ()),
        versioned=(properties.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
    )
