"""docs/deploy-policy.json: lint-clean for parliament, and enough to deploy and remove the packaged
stage (every resource type of the template with every optional resource on), and no more."""

from __future__ import annotations

import copy
import json
import warnings

import pytest

from tests.integration.deploy import deploy_policy

STAGE_ROLES = "arn:aws:iam::*:role/image-recognition-STAGE-*"


@pytest.fixture(scope="module")
def policy() -> dict:
    return json.loads(deploy_policy.POLICY_FILE.read_text())


def parliament_findings(policy: dict) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns it is deprecated
        from parliament import analyze_policy_string

    analysed = analyze_policy_string(json.dumps(policy))
    return [f"{finding.issue}: {finding.detail}" for finding in analysed.findings]


def test_parliament_finds_nothing_in_the_policy(policy):
    assert parliament_findings(policy) == []


def test_parliament_notices_a_broken_copy(policy):
    broken = copy.deepcopy(policy)
    broken["Statement"][0]["Action"].append("cloudformation:CreateStak")
    broken["Statement"].append({"Effect": "Allow", "Action": "sqs:CreateQueue", "Resource": "arn:aws:sns:*:*:x"})
    findings = parliament_findings(broken)
    assert any(f.startswith("UNKNOWN_ACTION") for f in findings) and any(
        f.startswith("RESOURCE_MISMATCH") for f in findings
    )


def test_every_resource_type_of_the_template_is_allowed_what_cloudformation_needs(policy, prod_package):
    types = deploy_policy.template_types(prod_package.template)
    assert {"AWS::Cognito::UserPool", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard"} <= types
    assert deploy_policy.gaps(policy, types) == {}


def test_a_resource_type_without_its_actions_is_a_gap(policy):
    without_queues = copy.deepcopy(policy)
    for statement in deploy_policy.statements(without_queues):
        actions = [a for a in deploy_policy._listed(statement["Action"]) if not a.startswith("sqs:")]
        statement["Action"] = actions or ["s3:GetObject"]
    found = deploy_policy.gaps(without_queues, {"AWS::SQS::Queue", "AWS::SNS::Topic"})
    assert set(found) == {"AWS::SQS::Queue"} and "sqs:CreateQueue" in found["AWS::SQS::Queue"]
    assert "sqs:CreateQueue" not in str(deploy_policy.gaps(policy, {"AWS::SQS::Queue"}))


def test_a_resource_type_of_a_service_the_check_does_not_know_fails_loudly(policy):
    with pytest.raises(KeyError, match="Kinesis"):
        deploy_policy.gaps(policy, {"AWS::Kinesis::Stream"})


def test_pass_role_is_only_for_the_stage_roles_and_only_to_lambda(policy):
    passing = [s for s in deploy_policy.statements(policy) if deploy_policy.allows({"Statement": [s]}, "iam:PassRole")]
    assert passing and all(s["Resource"] == STAGE_ROLES for s in passing)
    assert all(s["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}} for s in passing)


def test_the_services_beyond_the_template_are_there_too(policy):
    # SSM: the webhook secret the README stores before the first deploy; KMS: keys of the stage.
    for action in ("ssm:PutParameter", "ssm:DeleteParameter", "kms:CreateKey", "cloudwatch:PutDashboard"):
        assert deploy_policy.allows(policy, action), action
    assert not deploy_policy.allows(policy, "iam:CreateUser") and not deploy_policy.allows(policy, "s3:PutBucketAcl")
