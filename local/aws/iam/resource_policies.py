"""Resource policies: the bucket's, and the topic and queue policies that S3 and SNS deliveries need.

moto delivers S3 -> SNS and SNS -> SQS whatever the policies say (see ../shared/FACTS.md). AWS
does not: S3 cannot notify a topic whose policy does not let `s3.amazonaws.com` publish for that
bucket, and SNS silently drops messages to a queue whose policy does not let `sns.amazonaws.com`
send for that topic. `honor_delivery_policies` therefore leaves such deliveries out of the
topology before it is provisioned, so nothing arrives, and says which policy is missing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from local.aws.iam.policy import Request, Statement, decide, parse, unsupported_conditions
from local.errors import StackError
from local.topology import PhysicalIds, Topology, resolve

logger = logging.getLogger("local.aws.iam")

_POLICY_TARGETS = {
    "AWS::SNS::TopicPolicy": "Topics",
    "AWS::SQS::QueuePolicy": "Queues",
    "AWS::S3::BucketPolicy": "Bucket",
}


def policies_by_target(topology: Topology, ids: PhysicalIds, policy_type: str) -> dict[str, tuple[Statement, ...]]:
    """The statements of every `policy_type` resource, by the logical id of each resource it governs."""
    found: dict[str, list[Statement]] = {}
    for logical_id, resource in topology.resources.items():
        if resource.get("Type") != policy_type:
            continue
        properties = resource.get("Properties") or {}
        targets = properties.get(_POLICY_TARGETS[policy_type])
        statements = parse(resolve(properties.get("PolicyDocument") or {}, ids))
        unsupported = unsupported_conditions(statements)
        if unsupported:
            raise StackError(f"{logical_id}: conditions not evaluated locally: {', '.join(unsupported)}")
        for target in targets if isinstance(targets, list) else [targets]:
            found.setdefault(_logical_id(target), []).extend(statements)
    return {k: tuple(v) for k, v in found.items()}


def bucket_policies(topology: Topology, ids: PhysicalIds) -> dict[str, tuple[Statement, ...]]:
    """By bucket name."""
    by_logical_id = policies_by_target(topology, ids, "AWS::S3::BucketPolicy")
    return {
        ids.refs[logical_id]: statements for logical_id, statements in by_logical_id.items() if logical_id in ids.refs
    }


def honor_delivery_policies(topology: Topology, ids: PhysicalIds) -> tuple[Topology, list[str]]:
    """The topology without the deliveries AWS would drop, and one warning for each."""
    account = ids.pseudo["AWS::AccountId"]
    topic_policies = policies_by_target(topology, ids, "AWS::SNS::TopicPolicy")
    queue_policies = policies_by_target(topology, ids, "AWS::SQS::QueuePolicy")
    warnings: list[str] = []

    buckets = []
    for bucket in topology.buckets:
        kept = []
        bucket_arn = ids.attributes[(bucket.logical_id, "Arn")]
        for notification in bucket.notifications:
            allowed = _allows(
                topic_policies.get(notification.topic, ()),
                Request(
                    "sns:Publish",
                    ids.refs[notification.topic],
                    {"aws:sourcearn": bucket_arn, "aws:sourceaccount": account, "aws:securetransport": "true"},
                    principal=("Service", "s3.amazonaws.com"),
                ),
            )
            if allowed:
                kept.append(notification)
            else:
                warnings.append(
                    f"S3 -> SNS dropped: no AWS::SNS::TopicPolicy on {notification.topic} allows s3.amazonaws.com "
                    f"to sns:Publish for bucket {bucket.logical_id}; AWS would refuse this notification"
                )
        buckets.append(dataclasses.replace(bucket, notifications=tuple(kept)))

    subscriptions = []
    for subscription in topology.subscriptions:
        allowed = _allows(
            queue_policies.get(subscription.queue, ()),
            Request(
                "sqs:SendMessage",
                ids.attributes[(subscription.queue, "Arn")],
                {
                    "aws:sourcearn": ids.refs[subscription.topic],
                    "aws:sourceaccount": account,
                    "aws:securetransport": "true",
                },
                principal=("Service", "sns.amazonaws.com"),
            ),
        )
        if allowed:
            subscriptions.append(subscription)
        else:
            warnings.append(
                f"SNS -> SQS dropped: no AWS::SQS::QueuePolicy on {subscription.queue} allows sns.amazonaws.com "
                f"to sqs:SendMessage for topic {subscription.topic}; AWS silently drops these messages"
            )
    for warning in warnings:
        logger.warning("%s", warning)
    honored = dataclasses.replace(topology, buckets=tuple(buckets), subscriptions=tuple(subscriptions))
    return honored, warnings


def _allows(statements: tuple[Statement, ...], request: Request) -> bool:
    return decide(statements, request) == "Allow"


def _logical_id(expression: Any) -> str:
    if isinstance(expression, Mapping):
        if "Ref" in expression:
            return str(expression["Ref"])
        if "Fn::GetAtt" in expression:
            return str(expression["Fn::GetAtt"][0])
    raise StackError(f"a resource policy must name its target with Ref or Fn::GetAtt; got {expression!r}")
