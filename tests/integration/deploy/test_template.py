"""The compiled CloudFormation template is safe by default: lint-clean, least privilege, encrypted,
dead-lettered, retained in prod. Each rule also runs on a deliberately broken copy, to show it fails."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest
from cfnlint.api import ManualArgs, lint

from tests.integration.deploy import rules

PACKAGES = ("dev_package", "prod_package")


@pytest.fixture
def packages(dev_package, prod_package) -> dict:
    """Both stages' packages, named as arguments: the tests that use them then run on one worker, which
    packages each stage once (tests/conftest.py groups tests by the session fixtures they name)."""
    return {"dev_package": dev_package, "prod_package": prod_package}


def lint_findings(template: dict) -> list[str]:
    """cfn-lint's errors and warnings (informational findings are not reported by default)."""
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message}" for m in matches]


@pytest.mark.parametrize("package", PACKAGES)
def test_cfn_lint_finds_no_error_and_no_warning(package, packages):
    assert lint_findings(packages[package].template) == []


def test_cfn_lint_reports_a_broken_template(dev_package):
    broken = copy.deepcopy(dev_package.template)
    broken["Resources"]["UploadsQueue"]["Properties"]["VisibilityTimeout"] = 999999
    broken["Parameters"] = {"Unused": {"Type": "String"}}
    findings = lint_findings(broken)
    assert any(f.startswith("E") for f in findings) and any(f.startswith("W") for f in findings), findings


@pytest.mark.parametrize("rule", rules.RULES)
@pytest.mark.parametrize("package", PACKAGES)
def test_rule_holds(rule, package, packages):
    assert rules.RULES[rule](packages[package].template) == []


def _resources(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]


def _statement(template: dict, role: str, index: int) -> dict:
    return _resources(template, role)["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][index]


def _function(template: dict, name: str) -> dict:
    return next(
        r for r in template["Resources"].values() if r["Properties"].get("FunctionName", "").endswith(f"-{name}")
    )


def _mapping(template: dict, function: str) -> dict:
    return next(
        r["Properties"]
        for r in rules.resources(template, "AWS::Lambda::EventSourceMapping").values()
        if r["Properties"]["FunctionName"]["Fn::GetAtt"][0].lower().startswith(function)
    )


# (rule, what is broken, how): every rule must fail on each breakage.
BREAKAGES: list[tuple[str, str, Callable[[dict], None]]] = [
    ("function roles", "wildcard action", lambda t: _statement(t, "UploadRole", 1).update(Action="s3:*")),
    (
        "function roles",
        "table action on every resource",
        lambda t: _statement(t, "ImagesRole", 1).update(Resource="*"),
    ),
    (
        "function roles",
        "two functions share a role",
        lambda t: _function(t, "images")["Properties"].update(Role={"Fn::GetAtt": ["UploadRole", "Arn"]}),
    ),
    (
        "function roles",
        "a role trusts another service",
        lambda t: _resources(t, "DeliverRole")["Properties"]["AssumeRolePolicyDocument"]["Statement"][0].update(
            Principal={"Service": "ec2.amazonaws.com"}
        ),
    ),
    (
        "function roles",
        "an administrator managed policy",
        lambda t: _resources(t, "RecognizeRole")["Properties"]["ManagedPolicyArns"].append(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ),
    ),
    (
        "secret readers",
        "the API role may decrypt too",
        lambda t: _resources(t, "WebhooksRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": {"Fn::GetAtt": ["WebhookSecretsKey", "Arn"]}}
        ),
    ),
    (
        "secret readers",
        "another role decrypts with a wildcard resource",
        lambda t: _statement(t, "ImagesRole", 1).update(Action=["dynamodb:GetItem", "kms:Decrypt"], Resource="*"),
    ),
    (
        "secret readers",
        "the key policy lets any principal in",
        lambda t: _resources(t, "WebhookSecretsKey")["Properties"]["KeyPolicy"]["Statement"].append(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
        ),
    ),
    (
        "secret readers",
        "deliver cannot decrypt",
        lambda t: _decrypt_statement(t, "DeliverRole").update(Action="kms:Encrypt"),
    ),
    (
        "buckets",
        "no encryption",
        lambda t: _resources(t, "ImagesBucket")["Properties"].pop("BucketEncryption"),
    ),
    (
        "buckets",
        "public ACLs allowed",
        lambda t: _resources(t, "ImagesBucket")["Properties"]["PublicAccessBlockConfiguration"].update(
            BlockPublicAcls=False
        ),
    ),
    ("buckets", "no TLS-only policy", lambda t: t["Resources"].pop("ImagesBucketPolicy")),
    (
        "tables",
        "no point-in-time recovery",
        lambda t: _resources(t, "ImagesTable")["Properties"].pop("PointInTimeRecoverySpecification"),
    ),
    (
        "tables",
        "encryption off",
        lambda t: _resources(t, "ImagesTable")["Properties"]["SSESpecification"].update(SSEEnabled=False),
    ),
    (
        "queues",
        "source queue without a dead-letter queue",
        lambda t: _resources(t, "UploadsQueue")["Properties"].pop("RedrivePolicy"),
    ),
    (
        "queues",
        "visibility shorter than six function timeouts",
        lambda t: _resources(t, "IntegrationQueue")["Properties"].update(VisibilityTimeout=60),
    ),
    (
        "queues",
        "dead-letter queue unencrypted",
        lambda t: _resources(t, "UploadsDeadLetterQueue")["Properties"].pop("SqsManagedSseEnabled"),
    ),
    (
        "queues",
        "dead-letter queue keeps messages for less time",
        lambda t: _resources(t, "IntegrationDeadLetterQueue")["Properties"].update(MessageRetentionPeriod=60),
    ),
    ("sqs events", "whole-batch failures", lambda t: _mapping(t, "recognize").pop("FunctionResponseTypes")),
    ("sqs concurrency", "recognize unbounded", lambda t: _mapping(t, "recognize").pop("ScalingConfig")),
    (
        "sqs concurrency",
        "deliver above the ceiling",
        lambda t: _mapping(t, "deliver").update(ScalingConfig={"MaximumConcurrency": 5000}),
    ),
    (
        "api throttle",
        "no rate limit",
        lambda t: _resources(t, "HttpApiStage")["Properties"]["DefaultRouteSettings"].pop("ThrottlingRateLimit"),
    ),
    (
        "api throttle",
        "no route settings",
        lambda t: _resources(t, "HttpApiStage")["Properties"].pop("DefaultRouteSettings"),
    ),
    (
        "log groups",
        "a log group kept forever",
        lambda t: _resources(t, "DeliverLogGroup")["Properties"].pop("RetentionInDays"),
    ),
    ("log groups", "a function without a log group", lambda t: t["Resources"].pop("ImagesLogGroup")),
    ("tracing", "a function untraced", lambda t: _function(t, "deliver")["Properties"].pop("TracingConfig")),
    (
        "tracing",
        "a function passing traces through only",
        lambda t: _function(t, "upload")["Properties"]["TracingConfig"].update(Mode="PassThrough"),
    ),
    ("dashboard", "no dashboard", lambda t: t["Resources"].pop("Dashboard")),
    ("dashboard", "a metric left off", lambda t: _edit_dashboard(t, '"WebhooksDeadLettered"', '"Other"')),
    ("dashboard", "a queue left off", lambda t: _edit_dashboard(t, "${UploadsDeadLetterQueue.QueueName}", "x")),
    ("dashboard", "another stage's namespace", lambda t: _dashboard_variables(t).update(Namespace="other/prod")),
    ("alarms", "no latency alarm", lambda t: t["Resources"].pop("EndToEndLatencyAlarm")),
    (
        "alarms",
        "a FAILED rate alarm on another metric",
        lambda t: _resources(t, "FailedRateAlarm")["Properties"].update(MetricName="ImagesFailed"),
    ),
    (
        "alarms",
        "a throttles alarm that pages nobody",
        lambda t: _resources(t, "ThrottlesAlarm")["Properties"].update(AlarmActions=[]),
    ),
]


def _decrypt_statement(template: dict, role: str) -> dict:
    statements = _resources(template, role)["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return next(s for s in statements if s["Action"] == "kms:Decrypt")


def _dashboard_variables(template: dict) -> dict:
    return _resources(template, "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"][1]


def _edit_dashboard(template: dict, old: str, new: str) -> None:
    body = _resources(template, "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    assert old in body[0]
    body[0] = body[0].replace(old, new)


@pytest.mark.parametrize("rule, broken, breakage", BREAKAGES, ids=[f"{r}: {b}" for r, b, _ in BREAKAGES])
def test_rule_fails_on_a_broken_template(rule, broken, breakage, dev_package):
    template = copy.deepcopy(dev_package.template)
    assert rules.RULES[rule](template) == [], "the rule must hold before the template is broken"
    breakage(template)
    assert rules.RULES[rule](template), f"{rule} did not notice: {broken}"


def test_every_rule_has_a_breakage():
    assert {rule for rule, _, _ in BREAKAGES} == set(rules.RULES)


# --- retention per stage -------------------------------------------------------------------------
def test_prod_retains_every_stateful_resource(prod_package):
    assert set(rules.stateful_resources(prod_package.template)) == {
        "ImagesBucket",
        "ImagesTable",
        "UserPool",
        "WebhooksTable",
        "WebhookSecretsKey",
    }
    assert rules.stateful_resources_retained(prod_package.template) == []


def test_other_stages_delete_their_data_on_remove(dev_package):
    stateful = rules.stateful_resources(dev_package.template)
    assert stateful and all(r.get("DeletionPolicy") == "Delete" for r in stateful.values())


def test_retention_rule_fails_when_prod_would_delete_data(prod_package):
    template = copy.deepcopy(prod_package.template)
    template["Resources"]["ImagesTable"]["DeletionPolicy"] = "Delete"
    assert rules.stateful_resources_retained(template) == [
        "ImagesTable: DeletionPolicy Delete, UpdateReplacePolicy Retain; both must be Retain"
    ]
