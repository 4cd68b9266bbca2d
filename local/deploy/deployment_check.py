"""Checks a stack that osls deployed to an emulator against serverless.yml.

Every resource and setting the topology declares is looked up in the emulator and compared.
moto's CloudFormation silently skips some resource types and drops some properties while still
reporting the stack complete; those are listed as emulator gaps (local/deploy/findings.py), never
counted as verified. A gap that moto one day closes shows up as verified on its own; a mismatch not
on the lists is a failure.
"""

from __future__ import annotations

import ast
import json
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from local.deploy.findings import (
    FAILED,
    GAP,
    MOTO_IGNORED_PROPERTIES,
    MOTO_SKIPPED_TYPES,
    Finding,
    Subject,
)
from local.topology import PhysicalIds, Topology, resolve

Client = Callable[[str], Any]


class DeploymentCheck:
    def __init__(
        self,
        client: Client,
        topology: Topology,
        skipped_types: Mapping[str, str] = MOTO_SKIPPED_TYPES,
        ignored_properties: set[tuple[str, str]] = MOTO_IGNORED_PROPERTIES,
    ):
        self.client = client
        self.topology = topology
        self.stack = topology.stack_name
        self.skipped_types = skipped_types
        self.ignored = ignored_properties
        self.subjects: list[Subject] = []
        self.template: dict[str, Any] = {}
        self.created: dict[str, str] = {}  # logical id -> physical id

    def run(self) -> list[Finding]:
        cloudformation = self.client("cloudformation")
        stack = cloudformation.describe_stacks(StackName=self.stack)["Stacks"][0]
        self._subject(f"stack {self.stack}", "AWS::CloudFormation::Stack").expect(
            f"status {stack['StackStatus']}", True, stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
        )
        body = cloudformation.get_template(StackName=self.stack)["TemplateBody"]
        self.template = json.loads(body) if isinstance(body, str) else body
        summaries = cloudformation.list_stack_resources(StackName=self.stack)["StackResourceSummaries"]
        self.created = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries if s["LogicalResourceId"]}
        findings = list(self._declared_resources())
        ids = self._physical_ids()
        for check in (self._queues, self._topics, self._subscriptions, self._tables, self._buckets):
            check(ids)
        for function in self.topology.functions:
            self._function(function, ids)
        for subject in self.subjects:
            findings.extend(subject.findings())
        return findings

    # --- what CloudFormation created at all -----------------------------------------------------
    def _declared_resources(self) -> Iterable[Finding]:
        for logical_id, resource in self.template["Resources"].items():
            kind = resource["Type"]
            if logical_id in self.created:
                continue
            if kind in self.skipped_types:
                yield Finding(
                    GAP, f"{logical_id} ({kind})", f"{self.skipped_types[kind]} reported created, not created"
                )
            else:
                yield Finding(FAILED, f"{logical_id} ({kind})", "declared in the template, missing from the stack")

    def _physical_ids(self) -> PhysicalIds:
        t, sqs = self.topology, self.client("sqs")
        refs = dict(self.created)
        attributes: dict[tuple[str, str], str] = {}
        for queue in t.queues:
            if queue.logical_id in refs:
                arn = sqs.get_queue_attributes(QueueUrl=refs[queue.logical_id], AttributeNames=["QueueArn"])
                attributes[(queue.logical_id, "Arn")] = arn["Attributes"]["QueueArn"]
        for table in t.tables:
            if table.logical_id in refs:
                description = self.client("dynamodb").describe_table(TableName=refs[table.logical_id])["Table"]
                attributes[(table.logical_id, "Arn")] = description["TableArn"]
        for bucket in t.buckets:
            if bucket.logical_id in refs:
                attributes[(bucket.logical_id, "Arn")] = f"arn:aws:s3:::{refs[bucket.logical_id]}"
        account = self.client("sts").get_caller_identity()["Account"]
        pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": t.region,
            "AWS::StackName": self.stack,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        return PhysicalIds(refs, attributes, pseudo)

    def _subject(self, name: str, resource_type: str) -> Subject:
        subject = Subject(name, resource_type, self.ignored)
        self.subjects.append(subject)
        return subject

    def _declared(self, logical_id: str) -> dict[str, Any]:
        return self.template["Resources"][logical_id].get("Properties") or {}

    # --- resources --------------------------------------------------------------------------------
    def _queues(self, ids: PhysicalIds) -> None:
        sqs = self.client("sqs")
        for queue in self.topology.queues:
            if queue.logical_id not in self.created:
                continue
            s = self._subject(f"queue {queue.logical_id}", "AWS::SQS::Queue")
            found = sqs.get_queue_attributes(QueueUrl=ids.refs[queue.logical_id], AttributeNames=["All"])["Attributes"]
            s.expect(
                f"visibility {queue.visibility_timeout} s", str(queue.visibility_timeout), found["VisibilityTimeout"]
            )
            if queue.dead_letter_queue:
                redrive = json.loads(found.get("RedrivePolicy", "{}"))
                expected = (ids.attributes.get((queue.dead_letter_queue, "Arn")), queue.max_receive_count)
                actual = (redrive.get("deadLetterTargetArn"), int(redrive.get("maxReceiveCount", 0)))
                s.expect(f"redrive to {queue.dead_letter_queue} after {queue.max_receive_count}", expected, actual)
            if queue.properties.get("SqsManagedSseEnabled"):
                s.expect("SQS-managed encryption", "true", found.get("SqsManagedSseEnabled"), "SqsManagedSseEnabled")
            if "MessageRetentionPeriod" in queue.properties:
                retention = str(queue.properties["MessageRetentionPeriod"])
                s.expect(f"retention {retention} s", retention, found["MessageRetentionPeriod"])

    def _topics(self, ids: PhysicalIds) -> None:
        sns = self.client("sns")
        for topic in self.topology.topics:
            if topic.logical_id in self.created:
                s = self._subject(f"topic {topic.logical_id}", "AWS::SNS::Topic")
                arn = sns.get_topic_attributes(TopicArn=ids.refs[topic.logical_id])["Attributes"]["TopicArn"]
                s.expect("exists", ids.refs[topic.logical_id], arn)

    def _subscriptions(self, ids: PhysicalIds) -> None:
        sns = self.client("sns")
        for subscription in self.topology.subscriptions:
            if subscription.logical_id not in self.created:
                continue  # reported by _declared_resources
            s = self._subject(f"subscription {subscription.logical_id}", "AWS::SNS::Subscription")
            listed = sns.list_subscriptions_by_topic(TopicArn=ids.refs[subscription.topic])["Subscriptions"]
            endpoints = {(entry["Protocol"], entry["Endpoint"]) for entry in listed}
            queue_arn = ids.attributes.get((subscription.queue, "Arn"))
            s.expect(f"{subscription.topic} -> {subscription.queue}", True, ("sqs", queue_arn) in endpoints)

    def _tables(self, ids: PhysicalIds) -> None:
        dynamodb = self.client("dynamodb")
        for table in self.topology.tables:
            if table.logical_id not in self.created:
                continue
            s = self._subject(f"table {table.logical_id}", "AWS::DynamoDB::Table")
            found = dynamodb.describe_table(TableName=ids.refs[table.logical_id])["Table"]
            declared = table.properties
            s.expect("key schema", _keys(declared["KeySchema"]), _keys(found["KeySchema"]))
            expected_indexes = {
                i["IndexName"]: _keys(i["KeySchema"]) for i in declared.get("GlobalSecondaryIndexes", [])
            }
            found_indexes = {i["IndexName"]: _keys(i["KeySchema"]) for i in found.get("GlobalSecondaryIndexes", [])}
            s.expect(f"indexes {', '.join(sorted(expected_indexes))}", expected_indexes, found_indexes)
            billing = (found.get("BillingModeSummary") or {}).get("BillingMode")
            s.expect(f"billing {declared.get('BillingMode')}", declared.get("BillingMode"), billing)
            if (declared.get("SSESpecification") or {}).get("SSEEnabled"):
                status = (found.get("SSEDescription") or {}).get("Status")
                s.expect("encryption", "ENABLED", status, "SSESpecification")
            if (declared.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
                backups = dynamodb.describe_continuous_backups(TableName=ids.refs[table.logical_id])
                pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
                s.expect(
                    "point-in-time recovery",
                    "ENABLED",
                    pitr["PointInTimeRecoveryStatus"],
                    "PointInTimeRecoverySpecification",
                )

    def _buckets(self, ids: PhysicalIds) -> None:
        s3 = self.client("s3")
        for bucket in self.topology.buckets:
            if bucket.logical_id not in self.created:
                continue
            name = ids.refs[bucket.logical_id]
            s = self._subject(f"bucket {bucket.logical_id}", "AWS::S3::Bucket")
            declared = self._declared(bucket.logical_id)
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            expected_rules = declared["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            s.expect(
                "encryption",
                [r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in expected_rules],
                [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules],
            )
            if "PublicAccessBlockConfiguration" in declared:
                s.expect(
                    "public access blocked",
                    declared["PublicAccessBlockConfiguration"],
                    _public_access_block(s3, name),
                    "PublicAccessBlockConfiguration",
                )
            expected_notifications = sorted(
                (n.event, ids.refs.get(n.topic), n.prefix, n.suffix) for n in bucket.notifications
            )
            configuration = s3.get_bucket_notification_configuration(Bucket=name)
            found_notifications = sorted(_notifications(configuration.get("TopicConfigurations", [])))
            s.expect("notifications", expected_notifications, found_notifications, "NotificationConfiguration")

    def _function(self, function: Any, ids: PhysicalIds) -> None:
        lambda_client = self.client("lambda")
        name = f"{self.stack}-{function.name}"
        logical_id = _function_logical_id(self.template, name)
        s = self._subject(f"function {function.name}", "AWS::Lambda::Function")
        if logical_id not in self.created:
            s.failed.append(f"{name} is not in the stack")
            return
        declared = self._declared(logical_id)
        found = lambda_client.get_function_configuration(FunctionName=name)
        s.expect(f"handler {function.handler}", function.handler, found["Handler"])
        s.expect(f"runtime {declared['Runtime']}", declared["Runtime"], found["Runtime"])
        s.expect(f"timeout {function.timeout} s", function.timeout, found["Timeout"])
        s.expect(f"memory {function.memory_mb} MB", function.memory_mb, found["MemorySize"])
        s.expect("architecture", declared.get("Architectures", ["x86_64"]), found.get("Architectures"), "Architectures")
        if function.role:
            role_arn = self.client("iam").get_role(RoleName=ids.refs[function.role])["Role"]["Arn"]
            s.expect(f"role {function.role}", role_arn, found["Role"])
            self._role(s, function.role, ids)
        expected_env = {k: str(v) for k, v in resolve(dict(function.environment), ids).items()}
        found_env = (found.get("Environment") or {}).get("Variables") or {}
        s.expect(f"environment ({len(expected_env)} variables)", expected_env, found_env)
        self._log_group(s, logical_id, name)
        for trigger in (t for t in self.topology.sqs_triggers if t.function == function.name):
            self._sqs_trigger(s, trigger, found["FunctionArn"], ids)
        if any(route.function == function.name for route in self.topology.routes):
            self._api_permission(lambda_client, function.name, name)

    def _role(self, s: Subject, role: str, ids: PhysicalIds) -> None:
        iam, role_name = self.client("iam"), ids.refs[role]
        for policy in self._declared(role).get("Policies", []):
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy["PolicyName"])["PolicyDocument"]
            document = _policy_document(document)
            s.expect(
                f"policy {policy['PolicyName']} actions",
                _actions(policy["PolicyDocument"]["Statement"]),
                _actions(document["Statement"]),
            )
        managed = len(self._declared(role).get("ManagedPolicyArns", []))
        attached = len(iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"])
        role_subject = Subject(s.name, "AWS::IAM::Role", self.ignored)
        role_subject.expect(f"{managed} managed policies", managed, attached, "ManagedPolicyArns")
        s.verified += role_subject.verified
        s.gaps += [f"role {role}: {gap}" for gap in role_subject.gaps]
        s.failed += role_subject.failed

    def _log_group(self, s: Subject, function_logical_id: str, name: str) -> None:
        group = f"/aws/lambda/{name}"
        log_group_id = next(
            (
                k
                for k, v in self.template["Resources"].items()
                if v["Type"] == "AWS::Logs::LogGroup" and v["Properties"].get("LogGroupName") == group
            ),
            None,
        )
        if log_group_id is None:
            s.failed.append(f"no log group {group} declared for {function_logical_id}")
            return
        retention = self._declared(log_group_id).get("RetentionInDays")
        groups = self.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        found = next((g.get("retentionInDays") for g in groups if g["logGroupName"] == group), None)
        s.expect(f"log retention {retention} days", retention, found)

    def _sqs_trigger(self, s: Subject, trigger: Any, function_arn: str, ids: PhysicalIds) -> None:
        queue_arn = ids.attributes.get((trigger.queue, "Arn"))
        mappings = self.client("lambda").list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
        mapping = next((m for m in mappings if m["FunctionArn"].split(":")[:7] == function_arn.split(":")[:7]), None)
        if mapping is None:
            s.failed.append(f"no event source mapping from {trigger.queue}")
            return
        expected = (trigger.batch_size, trigger.maximum_batching_window, trigger.report_batch_item_failures)
        actual = (
            mapping["BatchSize"],
            mapping.get("MaximumBatchingWindowInSeconds", 0),
            "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []),
        )
        s.expect(f"SQS trigger {trigger.queue} (batch {trigger.batch_size}, partial failures)", expected, actual)

    def _api_permission(self, lambda_client: Any, short_name: str, name: str) -> None:
        s = self._subject(f"function {short_name} invoke permission", "AWS::Lambda::Permission")
        statements = json.loads(lambda_client.get_policy(FunctionName=name)["Policy"])["Statement"]
        api = [st for st in statements if (st.get("Principal") or {}).get("Service") == "apigateway.amazonaws.com"]
        s.expect("API Gateway may invoke", True, bool(api))
        source_arns = [((st.get("Condition") or {}).get("ArnLike") or {}).get("AWS:SourceArn", "") for st in api]
        # The API's id is unknown when the emulator never created the API.
        s.expect(
            "scoped to this API", True, bool(source_arns) and all(":None/" not in a for a in source_arns), "SourceArn"
        )


def _policy_document(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    text = urllib.parse.unquote(document)  # IAM's wire format: URL-encoded JSON
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # moto's CloudFormation stores a policy given as an object as its Python repr.
        return ast.literal_eval(text)


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def _actions(statements: list[dict[str, Any]]) -> list[list[str]]:
    return sorted(sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) for s in statements)


def _public_access_block(s3: Any, bucket: str) -> dict[str, bool] | None:
    try:
        return s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise


def _notifications(configurations: list[dict[str, Any]]) -> Iterable[tuple[str, str, str, str]]:
    for configuration in configurations:
        rules = {
            r["Name"].lower(): r["Value"]
            for r in ((configuration.get("Filter") or {}).get("Key") or {}).get("FilterRules", [])
        }
        for event in configuration["Events"]:
            yield event, configuration["TopicArn"], rules.get("prefix", ""), rules.get("suffix", "")


def _function_logical_id(template: dict[str, Any], function_name: str) -> str | None:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"].get("FunctionName") == function_name:
            return logical_id
    return None
