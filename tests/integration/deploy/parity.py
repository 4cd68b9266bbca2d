"""The system's shape, read two ways: from the local topology and from the compiled template.

Both readings give the same plain structure (queues, topics, subscriptions, tables with their
indexes, buckets with their notifications, functions with their events, HTTP routes, auth), so a
test can compare them and print exactly what differs.
"""

from __future__ import annotations

from typing import Any

from local.deploy.packaging import Package
from local.topology import Topology
from tests.integration.deploy.rules import properties, referenced_id, resources

Shape = dict[str, Any]


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


def _keys(schema: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k["AttributeName"], k["KeyType"]) for k in schema)


def _table(spec: dict[str, Any]) -> tuple[Any, ...]:
    indexes = {i["IndexName"]: _keys(i["KeySchema"]) for i in spec.get("GlobalSecondaryIndexes", [])}
    return _keys(spec["KeySchema"]), tuple(sorted(indexes.items()))


def from_topology(t: Topology) -> Shape:
    return {
        "queues": {q.logical_id: (q.visibility_timeout, q.dead_letter_queue, q.max_receive_count) for q in t.queues},
        "topics": {topic.logical_id for topic in t.topics},
        "subscriptions": {s.logical_id: (s.topic, s.queue, s.raw_message_delivery) for s in t.subscriptions},
        "tables": {table.logical_id: _table(table.properties) for table in t.tables},
        "buckets": {
            b.logical_id: frozenset((n.event, n.topic, n.prefix, n.suffix) for n in b.notifications) for b in t.buckets
        },
        "functions": {f.name: (f.handler, f.timeout, f.memory_mb, f.role, dict(f.environment)) for f in t.functions},
        "sqs_triggers": {
            (s.function, s.queue, s.batch_size, s.maximum_batching_window, s.report_batch_item_failures)
            for s in t.sqs_triggers
        },
        "routes": {(r.method, r.path, r.function, r.authorizer) for r in t.routes},
        "authorizers": {a.name: (a.issuer, tuple(a.audience)) for a in t.authorizers},
        "user_pools": {p.logical_id for p in t.user_pools},
        "user_pool_clients": {c.logical_id: c.user_pool for c in t.user_pool_clients},
    }


def from_template(package: Package) -> Shape:
    template = package.template
    function_names = {logical_id: name for name, (logical_id, _) in package.functions().items()}
    return {
        "queues": {
            queue: (
                int(spec.get("VisibilityTimeout", 30)),
                referenced_id((spec.get("RedrivePolicy") or {}).get("deadLetterTargetArn")),
                (spec.get("RedrivePolicy") or {}).get("maxReceiveCount"),
            )
            for queue, spec in _properties_of(template, "AWS::SQS::Queue").items()
        },
        "topics": set(resources(template, "AWS::SNS::Topic")),
        "subscriptions": {
            logical_id: (
                referenced_id(s["TopicArn"]),
                referenced_id(s["Endpoint"]),
                _truthy(s.get("RawMessageDelivery")),
            )
            for logical_id, s in _properties_of(template, "AWS::SNS::Subscription").items()
        },
        "tables": {table: _table(spec) for table, spec in _properties_of(template, "AWS::DynamoDB::Table").items()},
        "buckets": {
            bucket: frozenset(_notifications(spec))
            for bucket, spec in _properties_of(template, "AWS::S3::Bucket").items()
            if bucket != "ServerlessDeploymentBucket"  # osls's own, for the code
        },
        "functions": {
            name: (
                spec["Handler"],
                spec["Timeout"],
                spec["MemorySize"],
                referenced_id(spec["Role"]),
                spec.get("Environment", {}).get("Variables", {}),
            )
            for name, (_, resource) in package.functions().items()
            for spec in [resource["Properties"]]
        },
        "sqs_triggers": {
            (
                function_names[referenced_id(m["FunctionName"])],
                referenced_id(m["EventSourceArn"]),
                m["BatchSize"],
                m.get("MaximumBatchingWindowInSeconds", 0),
                "ReportBatchItemFailures" in m.get("FunctionResponseTypes", []),
            )
            for m in _properties_of(template, "AWS::Lambda::EventSourceMapping").values()
        },
        "routes": {
            _route(template, function_names, spec)
            for spec in _properties_of(template, "AWS::ApiGatewayV2::Route").values()
        },
        "authorizers": {
            spec["Name"]: (spec["JwtConfiguration"]["Issuer"], tuple(spec["JwtConfiguration"]["Audience"]))
            for spec in _properties_of(template, "AWS::ApiGatewayV2::Authorizer").values()
        },
        "user_pools": set(resources(template, "AWS::Cognito::UserPool")),
        "user_pool_clients": {
            client: referenced_id(spec["UserPoolId"])
            for client, spec in _properties_of(template, "AWS::Cognito::UserPoolClient").items()
        },
    }


def differences(local: Shape, deployed: Shape) -> list[str]:
    found = []
    for kind in sorted(set(local) | set(deployed)):
        a, b = local.get(kind), deployed.get(kind)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                if a.get(key) != b.get(key):
                    found.append(f"{kind} {key}: local {a.get(key)!r}, template {b.get(key)!r}")
        else:
            found.append(f"{kind}: only local {sorted(a - b, key=str)}, only in the template {sorted(b - a, key=str)}")
    return found


def _properties_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: properties(template, logical_id) for logical_id in resources(template, resource_type)}


def _notifications(spec: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    found = []
    for configuration in (spec.get("NotificationConfiguration") or {}).get("TopicConfigurations", []):
        rules = {
            r["Name"].lower(): r["Value"]
            for r in ((configuration.get("Filter") or {}).get("S3Key") or {}).get("Rules", [])
        }
        topic = referenced_id(configuration["Topic"])
        found.append((configuration["Event"], topic, rules.get("prefix", ""), rules.get("suffix", "")))
    return found


def _route(template: dict[str, Any], function_names: dict[str, str], spec: dict[str, Any]) -> tuple[Any, ...]:
    method, path = spec["RouteKey"].split(" ", 1)
    integration = spec["Target"]["Fn::Join"][1][1]["Ref"]
    function = referenced_id(properties(template, integration)["IntegrationUri"])
    authorizer_id = referenced_id(spec.get("AuthorizerId"))
    authorizer = properties(template, authorizer_id)["Name"] if authorizer_id else None
    return method, path, function_names[function], authorizer
