"""Safety rules for a compiled CloudFormation template.

Each rule takes the template and returns what is wrong with it, one line per problem; an empty
list means the rule holds. The tests run every rule on the packaged templates, and on broken copies
to prove each rule can fail.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lib import observability

Template = dict[str, Any]

# Rekognition's Detect* actions support no resource-level permissions, so "*" is the only
# resource they can be granted on (Service Authorization Reference, Amazon Rekognition).
UNSCOPABLE_ACTIONS = frozenset(
    {
        "rekognition:DetectLabels",
        "rekognition:DetectFaces",
        "rekognition:DetectText",
        "rekognition:DetectModerationLabels",
        # X-Ray's write actions, which active tracing needs, have none either.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)
ALLOWED_MANAGED_POLICY = "iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# A KMS key holds state too: without it, the ciphertexts it made can never be read again.
STATEFUL_TYPES = frozenset({"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::KMS::Key"})
# osls's own bucket holds only deployment artifacts, which `sls remove` must be able to delete.
DEPLOYMENT_BUCKET = "ServerlessDeploymentBucket"
SQS_DEFAULT_RETENTION_SECONDS = 345600
VISIBILITY_TIMEOUT_FACTOR = 6


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id].get("Properties") or {}


def referenced_id(expression: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt [X, Arn]` points at."""
    if isinstance(expression, dict):
        if "Ref" in expression:
            return expression["Ref"]
        if "Fn::GetAtt" in expression:
            argument = expression["Fn::GetAtt"]
            return argument[0] if isinstance(argument, list) else argument.split(".")[0]
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- IAM --------------------------------------------------------------------------------------------
def function_roles(template: Template) -> list[str]:
    """Each function has a role of its own, trusted by Lambda alone, granting no wildcard actions."""
    problems, users = [], {}
    for function_id, function in resources(template, "AWS::Lambda::Function").items():
        role = referenced_id(function["Properties"].get("Role"))
        if role is None or template["Resources"].get(role, {}).get("Type") != "AWS::IAM::Role":
            problems.append(f"{function_id}: its role is not an AWS::IAM::Role of this template")
            continue
        users.setdefault(role, []).append(function_id)
    for role, functions in users.items():
        if len(functions) > 1:
            problems.append(f"{role} is shared by {', '.join(sorted(functions))}")
    for role in resources(template, "AWS::IAM::Role"):
        if role not in users:
            problems.append(f"{role} is used by no function")
            continue
        problems += [f"{role}: {p}" for p in _role_problems(properties(template, role))]
    return problems


def _role_problems(role: dict[str, Any]) -> list[str]:
    problems = []
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:
        if statement.get("Principal") != {"Service": "lambda.amazonaws.com"}:
            problems.append(f"trusts {statement.get('Principal')!r}, not Lambda alone")
    for arn in role.get("ManagedPolicyArns", []):
        text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else arn
        if not str(text).endswith(ALLOWED_MANAGED_POLICY):
            problems.append(f"managed policy {arn!r} grants more than logging")
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Effect") != "Allow":
                continue
            actions = _as_list(statement["Action"])
            wildcards = [a for a in actions if "*" in a]
            if wildcards:
                problems.append(f"policy {policy['PolicyName']} allows wildcard actions {wildcards}")
            if "*" in _as_list(statement.get("Resource")) and not set(actions) <= UNSCOPABLE_ACTIONS:
                scopable = sorted(set(actions) - UNSCOPABLE_ACTIONS)
                problems.append(f"policy {policy['PolicyName']} grants {scopable} on every resource")
    return problems


def granted(template: Template, role: str) -> set[tuple[str, str]]:
    """(action, resource) pairs a role's inline policies allow, resources named by logical id."""
    pairs = set()
    for policy in properties(template, role).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement["Resource"]):
                    pairs.add((action, _resource_name(resource)))
    return pairs


def _resource_name(resource: Any) -> str:
    named = referenced_id(resource)
    if named:
        return named
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        text = text if isinstance(text, str) else text[0]
        return text.replace(".Arn}", "}").replace("${AWS::Partition}", "aws")
    return str(resource)


# Who may read a webhook endpoint's secret: the function that signs deliveries, and nothing else.
SECRET_READERS = frozenset({"deliver"})
KMS_READ_ACTIONS = frozenset({"kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncrypt*", "kms:*", "*"})


def only_delivery_decrypts_secrets(template: Template) -> list[str]:
    """Of the functions' roles, only deliver's may decrypt the webhook secrets key, and it may; no
    key policy grants anyone but the account (whose IAM policies then decide)."""
    problems = []
    keys = resources(template, "AWS::KMS::Key")
    if not keys:
        return ["no AWS::KMS::Key holds the webhook secrets"]
    roles_by_function = {}
    for function_id, function in resources(template, "AWS::Lambda::Function").items():
        name = str(function["Properties"].get("FunctionName", function_id)).rsplit("-", 1)[-1]
        roles_by_function[name] = referenced_id(function["Properties"].get("Role"))
    for key in keys:
        for function, role in sorted(roles_by_function.items()):
            decrypts = any(
                action in KMS_READ_ACTIONS and resource in (key, "*")
                for action, resource in granted(template, role or "")
            )
            if decrypts and function not in SECRET_READERS:
                problems.append(f"{role} ({function}) may decrypt {key}")
            if not decrypts and function in SECRET_READERS:
                problems.append(f"{role} ({function}) may not decrypt {key}, so deliveries cannot be signed")
        for statement in (properties(template, key).get("KeyPolicy") or {}).get("Statement", []):
            principal = statement.get("Principal")
            root = (principal or {}).get("AWS") if isinstance(principal, dict) else None
            text = root.get("Fn::Sub", "") if isinstance(root, dict) else str(root)
            if statement.get("Effect") == "Allow" and not str(text).endswith(":root"):
                problems.append(f"{key}: its key policy allows {principal!r}, not only the account")
    return problems


# --- storage ----------------------------------------------------------------------------------------
def buckets_private_encrypted_tls_only(template: Template) -> list[str]:
    problems = []
    policies = {
        referenced_id(p["Properties"]["Bucket"]): p["Properties"]["PolicyDocument"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
    }
    for bucket, resource in resources(template, "AWS::S3::Bucket").items():
        spec = resource.get("Properties") or {}
        rules = (spec.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if not any(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules):
            problems.append(f"{bucket}: no default encryption")
        block = spec.get("PublicAccessBlockConfiguration") or {}
        settings = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        if not all(block.get(setting) is True for setting in settings):
            problems.append(f"{bucket}: public access not fully blocked")
        if not any(_denies_plain_http(s) for s in (policies.get(bucket) or {}).get("Statement", [])):
            problems.append(f"{bucket}: no bucket policy denying requests without TLS")
    return problems


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and "s3:*" in _as_list(statement.get("Action"))
        and str(secure).lower() == "false"
        and len(_as_list(statement.get("Resource"))) >= 2  # the bucket and its objects
    )


def tables_encrypted_with_recovery(template: Template) -> list[str]:
    problems = []
    for table, resource in resources(template, "AWS::DynamoDB::Table").items():
        spec = resource["Properties"]
        if (spec.get("SSESpecification") or {}).get("SSEEnabled") is not True:
            problems.append(f"{table}: SSESpecification.SSEEnabled is not true")
        if (spec.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
            problems.append(f"{table}: point-in-time recovery is off")
    return problems


# --- queues and their consumers ------------------------------------------------------------------
def _sqs_mappings(template: Template) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for mapping_id, mapping in resources(template, "AWS::Lambda::EventSourceMapping").items():
        source = referenced_id(mapping["Properties"].get("EventSourceArn"))
        if source and template["Resources"].get(source, {}).get("Type") == "AWS::SQS::Queue":
            found.append((mapping_id, mapping["Properties"]))
    return found


def queues_encrypted_with_redrive(template: Template) -> list[str]:
    """Every queue is encrypted; every queue a function consumes has a dead-letter queue that keeps
    messages at least as long, and a visibility timeout of at least six times the function's."""
    problems = []
    for queue, resource in resources(template, "AWS::SQS::Queue").items():
        spec = resource.get("Properties") or {}
        if spec.get("SqsManagedSseEnabled") is not True and not spec.get("KmsMasterKeyId"):
            problems.append(f"{queue}: not encrypted")
    for mapping_id, mapping in _sqs_mappings(template):
        queue = referenced_id(mapping["EventSourceArn"])
        spec = properties(template, queue)
        redrive = spec.get("RedrivePolicy") or {}
        dead_letter_queue = referenced_id(redrive.get("deadLetterTargetArn"))
        if dead_letter_queue not in resources(template, "AWS::SQS::Queue") or not redrive.get("maxReceiveCount"):
            problems.append(f"{queue}: consumed by {mapping_id} but has no dead-letter queue with maxReceiveCount")
        else:
            kept = properties(template, dead_letter_queue).get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_SECONDS)
            if int(kept) < int(spec.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_SECONDS)):
                problems.append(f"{dead_letter_queue}: keeps messages for less time than {queue}")
        function = referenced_id(mapping["FunctionName"])
        timeout = int(properties(template, function).get("Timeout", 6))
        visibility = int(spec.get("VisibilityTimeout", 30))
        if visibility < VISIBILITY_TIMEOUT_FACTOR * timeout:
            problems.append(f"{queue}: visibility {visibility} s < {VISIBILITY_TIMEOUT_FACTOR} x {function} timeout")
    return problems


def sqs_events_report_batch_item_failures(template: Template) -> list[str]:
    return [
        f"{mapping_id}: no ReportBatchItemFailures, so one bad message fails its whole batch"
        for mapping_id, mapping in _sqs_mappings(template)
        if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", [])
    ]


def sqs_events_bounded_concurrency(template: Template) -> list[str]:
    """Each SQS event source caps its concurrent batches: unbounded, it would scale to 1,000 and
    spend the account's Lambda concurrency on calls the Rekognition quota throttles anyway."""
    problems = []
    for mapping_id, mapping in _sqs_mappings(template):
        maximum = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
        if not isinstance(maximum, int) or not 2 <= maximum <= 1000:
            problems.append(f"{mapping_id}: ScalingConfig.MaximumConcurrency is {maximum!r}, not 2..1000")
    return problems


def http_api_throttled(template: Template) -> list[str]:
    """Every HTTP API stage has a rate and a burst limit, so a flood is refused with 429 at the edge."""
    problems = []
    for stage_id, stage in resources(template, "AWS::ApiGatewayV2::Stage").items():
        settings = (stage.get("Properties") or {}).get("DefaultRouteSettings") or {}
        rate, burst = settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")
        if not isinstance(rate, (int, float)) or rate <= 0:
            problems.append(f"{stage_id}: no DefaultRouteSettings.ThrottlingRateLimit")
        if not isinstance(burst, int) or burst <= 0:
            problems.append(f"{stage_id}: no DefaultRouteSettings.ThrottlingBurstLimit")
    if not resources(template, "AWS::ApiGatewayV2::Stage") and resources(template, "AWS::ApiGatewayV2::Api"):
        problems.append("the HTTP API has no stage of its own to throttle")
    return problems


# --- operations -------------------------------------------------------------------------------------
def log_groups_have_retention(template: Template) -> list[str]:
    problems = [
        f"{group}: kept forever (no RetentionInDays)"
        for group, resource in resources(template, "AWS::Logs::LogGroup").items()
        if not (resource.get("Properties") or {}).get("RetentionInDays")
    ]
    declared = {
        (r.get("Properties") or {}).get("LogGroupName") for r in resources(template, "AWS::Logs::LogGroup").values()
    }
    for function_id, function in resources(template, "AWS::Lambda::Function").items():
        if f"/aws/lambda/{function['Properties']['FunctionName']}" not in declared:
            problems.append(f"{function_id}: Lambda would create its log group, with no retention")
    return problems


def stateful_resources(template: Template) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in STATEFUL_TYPES and logical_id != DEPLOYMENT_BUCKET
    }


def stateful_resources_retained(template: Template) -> list[str]:
    """For stage prod: deleting the stack, or replacing a resource, keeps the data."""
    return [
        f"{logical_id}: DeletionPolicy {resource.get('DeletionPolicy', 'Delete')}, "
        f"UpdateReplacePolicy {resource.get('UpdateReplacePolicy', 'Delete')}; both must be Retain"
        for logical_id, resource in stateful_resources(template).items()
        if (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) != ("Retain", "Retain")
    ]


# --- observability ------------------------------------------------------------------------------
# What an operator must be told about; the FAILED rate needs the DONE count beside the FAILED one.
ALARMED_METRICS = {
    "throttles": {observability.THROTTLES},
    "FAILED rate": {observability.IMAGE_FAILURE_RATE},
    "end-to-end latency": {observability.END_TO_END_LATENCY},
    "endpoints disabled": {observability.WEBHOOK_ENDPOINTS_DISABLED},
}
ALARM_TOPIC = "AlarmTopic"
_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def functions_traced(template: Template) -> list[str]:
    """Every function has active X-Ray tracing."""
    return [
        f"{function_id}: TracingConfig is {(spec['Properties'].get('TracingConfig') or {}).get('Mode')!r}, not Active"
        for function_id, spec in resources(template, "AWS::Lambda::Function").items()
        if (spec["Properties"].get("TracingConfig") or {}).get("Mode") != "Active"
    ]


def metrics_namespace(template: Template) -> str | None:
    """The namespace every function writes its metrics to; None unless they all agree."""
    namespaces = {
        ((spec["Properties"].get("Environment") or {}).get("Variables") or {}).get("POWERTOOLS_METRICS_NAMESPACE")
        for spec in resources(template, "AWS::Lambda::Function").values()
    }
    return namespaces.pop() if len(namespaces) == 1 else None


def dashboard_body(template: Template, logical_id: str) -> tuple[str, dict[str, Any]]:
    """The dashboard's JSON with its Fn::Sub variables filled in; placeholders named `<X.Attr>`."""
    body = properties(template, logical_id).get("DashboardBody")
    text, variables = body, {}
    if isinstance(body, dict) and "Fn::Sub" in body:
        argument = body["Fn::Sub"]
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
    filled = _SUB_PLACEHOLDER.sub(lambda m: str(variables.get(m.group(1), f"<{m.group(1)}>")), str(text))
    return filled, json.loads(filled)


def dashboard(template: Template) -> list[str]:
    """One dashboard graphs every metric the functions write, in their namespace, and every queue."""
    dashboards = resources(template, "AWS::CloudWatch::Dashboard")
    if len(dashboards) != 1:
        return [f"{len(dashboards)} dashboards, expected one"]
    [logical_id] = dashboards
    try:
        text, body = dashboard_body(template, logical_id)
    except ValueError as error:
        return [f"{logical_id}: the body is not JSON: {error}"]
    problems = []
    namespace = metrics_namespace(template)
    if not namespace or f'"{namespace}"' not in text:
        problems.append(f"{logical_id}: does not graph the functions' namespace {namespace!r}")
    if not body.get("widgets"):
        problems.append(f"{logical_id}: has no widgets")
    problems += [
        f"{logical_id}: does not graph {name}" for name in observability.METRIC_NAMES if f'"{name}"' not in text
    ]
    problems += [
        f"{logical_id}: does not graph queue {queue}"
        for queue in resources(template, "AWS::SQS::Queue")
        if f"<{queue}.QueueName>" not in text
    ]
    return problems


def _alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) pairs an alarm watches, directly or through metric math."""
    watched = {(alarm.get("Namespace"), alarm.get("MetricName"))} if alarm.get("MetricName") else set()
    for query in alarm.get("Metrics") or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        if metric.get("MetricName"):
            watched.add((metric.get("Namespace"), metric["MetricName"]))
    return watched


def observability_alarms(template: Template) -> list[str]:
    """Throttles, the FAILED rate and the end-to-end latency each have an alarm that pages."""
    namespace = metrics_namespace(template)
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    problems = []
    for purpose, names in ALARMED_METRICS.items():
        wanted = {(namespace, name) for name in names}
        matching = [a for a, spec in alarms.items() if wanted <= _alarm_metrics(spec.get("Properties") or {})]
        if not matching:
            problems.append(f"no alarm on the {purpose} ({', '.join(sorted(names))} in {namespace})")
        for alarm in matching:
            spec = properties(template, alarm)
            if {referenced_id(action) for action in spec.get("AlarmActions") or []} != {ALARM_TOPIC}:
                problems.append(f"{alarm}: does not notify {ALARM_TOPIC}")
    return problems


RULES = {
    "function roles": function_roles,
    "secret readers": only_delivery_decrypts_secrets,
    "buckets": buckets_private_encrypted_tls_only,
    "tables": tables_encrypted_with_recovery,
    "queues": queues_encrypted_with_redrive,
    "sqs events": sqs_events_report_batch_item_failures,
    "sqs concurrency": sqs_events_bounded_concurrency,
    "api throttle": http_api_throttled,
    "log groups": log_groups_have_retention,
    "tracing": functions_traced,
    "dashboard": dashboard,
    "alarms": observability_alarms,
}
