"""Roles and resource policies read from serverless.yml, and what the local stack refuses to start with."""

import dataclasses

import pytest

from local import topology
from local.aws.iam.policy import Request, decide
from local.aws.iam.resource_policies import honor_delivery_policies
from local.aws.iam.roles import RoleCredentials, function_roles
from local.aws.provision import Provisioner
from local.errors import StackError


@pytest.fixture(scope="module")
def system():
    return topology.load("local", env={})


@pytest.fixture(scope="module")
def ids(system):
    return Provisioner(system, None).plan("http://127.0.0.1:5000")


def without(system, logical_id):
    resources = {k: v for k, v in system.resources.items() if k != logical_id}
    return dataclasses.replace(system, resources=resources)


def test_each_function_gets_its_role_statements_and_its_own_key(system, ids):
    roles = {role.function: role for role in function_roles(system, ids, RoleCredentials())}
    table = ids.attributes[("ImagesTable", "Arn")]
    recognize = roles["recognize"]
    assert recognize.arn.endswith(
        ":assumed-role/image-recognition-local-RecognizeRole/image-recognition-local-recognize"
    )
    assert decide(recognize.statements, Request("dynamodb:BatchWriteItem", table)) == "Allow"
    assert decide(roles["images"].statements, Request("dynamodb:BatchWriteItem", table)) == ""
    assert len({role.credentials.access_key for role in roles.values()}) == len(roles)


def test_an_unknown_managed_policy_or_condition_stops_the_start_naming_it(system, ids):
    role = system.resources["ImagesRole"]
    admin = {
        **role,
        "Properties": {**role["Properties"], "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
    }
    with pytest.raises(StackError, match="AdministratorAccess"):
        function_roles(
            dataclasses.replace(system, resources={**system.resources, "ImagesRole": admin}), ids, RoleCredentials()
        )
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}},
    }
    conditional = {**role, "Properties": {"Policies": [{"PolicyDocument": {"Statement": [statement]}}]}}
    with pytest.raises(StackError, match="IpAddress aws:SourceIp"):
        function_roles(
            dataclasses.replace(system, resources={**system.resources, "ImagesRole": conditional}),
            ids,
            RoleCredentials(),
        )


def test_the_declared_policies_allow_every_delivery(system, ids):
    honored, warnings = honor_delivery_policies(system, ids)
    assert warnings == []
    assert honored.subscriptions == system.subscriptions and honored.buckets == system.buckets


def test_without_its_queue_policy_the_subscription_is_dropped_with_a_warning_naming_it(system, ids):
    honored, warnings = honor_delivery_policies(without(system, "UploadsQueuePolicy"), ids)
    assert [s.queue for s in honored.subscriptions] == ["IntegrationQueue"]
    assert len(warnings) == 1 and "AWS::SQS::QueuePolicy on UploadsQueue" in warnings[0]


def test_without_its_topic_policy_the_bucket_cannot_notify(system, ids):
    honored, warnings = honor_delivery_policies(without(system, "UploadsTopicPolicy"), ids)
    assert all(not bucket.notifications for bucket in honored.buckets)
    # One warning per dropped notification (images/ and the presigned uploads/ prefix).
    assert len(warnings) == sum(len(bucket.notifications) for bucket in system.buckets) == 2
    assert all("AWS::SNS::TopicPolicy on UploadsTopic" in warning for warning in warnings)
