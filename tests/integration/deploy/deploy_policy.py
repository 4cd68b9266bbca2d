"""docs/deploy-policy.json against a compiled template: does it allow what CloudFormation does with
each resource type the template declares?

What each type needs comes from its CloudFormation resource schema, as cfn-lint ships it (pinned,
offline): the permissions its create, update and delete handlers call, in the type's own service.
Permissions those handlers need only for properties this template never sets are listed below,
each with the property that would need it; anything else the policy does not allow is a gap.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cfnlint

from local.paths import PROJECT_ROOT

POLICY_FILE = PROJECT_ROOT / "docs" / "deploy-policy.json"
SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
# CloudFormation's service name -> the IAM prefix of its actions.
IAM_PREFIX = {
    "ApiGatewayV2": "apigateway",
    "CloudWatch": "cloudwatch",
    "Cognito": "cognito-idp",
    "DynamoDB": "dynamodb",
    "IAM": "iam",
    "KMS": "kms",
    "Lambda": "lambda",
    "Logs": "logs",
    "S3": "s3",
    "SNS": "sns",
    "SQS": "sqs",
    "SSM": "ssm",
}
LIFECYCLE = ("create", "update", "delete")
# (type, permission pattern) -> why this template does not need it.
NOT_NEEDED = {
    ("AWS::ApiGatewayV2::Stage", "apigateway:*Resource"): "IAM authorizes tagging as apigateway:POST/DELETE on /tags/*",
    ("AWS::DynamoDB::Table", "dynamodb:*Import*"): "ImportSourceSpecification",
    ("AWS::DynamoDB::Table", "dynamodb:*KinesisStreamingDestination"): "KinesisStreamSpecification",
    ("AWS::DynamoDB::Table", "dynamodb:*ResourcePolicy"): "ResourcePolicy",
    ("AWS::DynamoDB::Table", "dynamodb:*TableReplica"): "a global table's replicas",
    ("AWS::DynamoDB::Table", "dynamodb:UpdateContributorInsights"): "ContributorInsightsSpecification",
    # The handler reads and writes items only to import data or seed a replica.
    ("AWS::DynamoDB::Table", "dynamodb:*Item"): "ImportSourceSpecification or replicas",
    ("AWS::DynamoDB::Table", "dynamodb:Scan"): "ImportSourceSpecification or replicas",
    ("AWS::DynamoDB::Table", "dynamodb:Query"): "ImportSourceSpecification or replicas",
    ("AWS::IAM::Role", "iam:*RolePermissionsBoundary"): "PermissionsBoundary",
    ("AWS::Lambda::Function", "lambda:*CodeSigningConfig"): "CodeSigningConfigArn",
    ("AWS::Lambda::Function", "lambda:GetLayerVersion"): "Layers",
    ("AWS::Lambda::Function", "lambda:PutRuntimeManagementConfig"): "RuntimeManagementConfig",
    ("AWS::Lambda::Function", "lambda:PutFunctionRecursionConfig"): "RecursiveLoop",
    ("AWS::Lambda::Function", "lambda:PutFunctionScalingConfig"): "CapacityProviderConfig",
    ("AWS::Lambda::Function", "lambda:PassCapacityProvider"): "CapacityProviderConfig",
    ("AWS::Lambda::Function", "lambda:AssociateRuntimeAlias"): "a runtime alias",
    ("AWS::Lambda::Version", "lambda:*ProvisionedConcurrencyConfig"): "ProvisionedConcurrencyConfig",
    ("AWS::Lambda::Version", "lambda:PutRuntimeManagementConfig"): "RuntimeManagementConfig",
    ("AWS::Lambda::Version", "lambda:PutFunctionScalingConfig"): "FunctionScalingConfig",
    ("AWS::Logs::LogGroup", "logs:*DataProtectionPolicy"): "DataProtectionPolicy",
    ("AWS::Logs::LogGroup", "logs:CreateLogDelivery"): "a log delivery",
    ("AWS::Logs::LogGroup", "logs:*ResourcePolic*"): "ResourcePolicyDocument",
    ("AWS::Logs::LogGroup", "logs:*IndexPolic*"): "FieldIndexPolicies",
    ("AWS::Logs::LogGroup", "logs:PutBearerTokenAuthentication"): "BearerTokenAuthenticationEnabled",
    ("AWS::Logs::LogGroup", "logs:*KmsKey"): "KmsKeyId",
    ("AWS::Logs::LogGroup", "logs:PutLogGroupDeletionProtection"): "DeletionProtectionEnabled",
    ("AWS::S3::Bucket", "s3:*Analytics*"): "AnalyticsConfigurations",
    ("AWS::S3::Bucket", "s3:*Inventory*"): "InventoryConfigurations",
    ("AWS::S3::Bucket", "s3:*Lifecycle*"): "LifecycleConfiguration",
    ("AWS::S3::Bucket", "s3:*Metrics*"): "MetricsConfigurations",
    ("AWS::S3::Bucket", "s3:*Replication*"): "ReplicationConfiguration",
    ("AWS::S3::Bucket", "s3:*Website*"): "WebsiteConfiguration",
    ("AWS::S3::Bucket", "s3:*Accelerate*"): "AccelerateConfiguration",
    ("AWS::S3::Bucket", "s3:*ObjectLock*"): "ObjectLockConfiguration",
    ("AWS::S3::Bucket", "s3:PutBucketLogging"): "LoggingConfiguration",
    ("AWS::S3::Bucket", "s3:*IntelligentTiering*"): "IntelligentTieringConfigurations",
    ("AWS::S3::Bucket", "s3:*Metadata*"): "MetadataTableConfiguration",
    ("AWS::S3::Bucket", "s3:PutBucketAbac"): "AbacStatus",
    ("AWS::S3::Bucket", "s3:Put*Acl"): "AccessControl (ownership is BucketOwnerEnforced: ACLs are off)",
    ("AWS::S3::Bucket", "s3:*Resource"): "IAM authorizes bucket tags as s3:PutBucketTagging",
    ("AWS::S3::Bucket", "s3:DeleteBucketCors"): "IAM authorizes it as s3:PutBucketCORS",
    ("AWS::S3::Bucket", "s3:DeleteBucketEncryption"): "IAM authorizes it as s3:PutEncryptionConfiguration",
    ("AWS::SNS::Topic", "sns:*DataProtectionPolicy"): "DataProtectionPolicy",
}


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy["Statement"]
    return found if isinstance(found, list) else [found]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed_actions(policy: dict[str, Any]) -> list[str]:
    return [a for s in statements(policy) if s["Effect"] == "Allow" for a in _listed(s["Action"])]


def allows(policy: dict[str, Any], permission: str) -> bool:
    """Whether an Allow names the action, as IAM matches them: case-insensitive, with wildcards."""
    return any(fnmatch.fnmatchcase(permission.lower(), action.lower()) for action in allowed_actions(policy))


def schema(resource_type: str) -> dict[str, Any]:
    files = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    return json.loads((SCHEMAS / "resources" / f"{files[resource_type]}.json").read_text())


def needed(resource_type: str) -> list[str]:
    """What CloudFormation's handlers call to create, update and delete the type, in its own service."""
    service = resource_type.split("::")[1]
    if service not in IAM_PREFIX:
        raise KeyError(f"{resource_type}: no IAM prefix known for {service}; add it to IAM_PREFIX")
    handlers = schema(resource_type).get("handlers") or {}
    found: list[str] = []
    for step in LIFECYCLE:
        for permission in (handlers.get(step) or {}).get("permissions", []):
            own = permission.split(":")[0].lower() == IAM_PREFIX[service]
            if own and permission not in found and not _not_needed(resource_type, permission):
                found.append(permission)
    return found


def _not_needed(resource_type: str, permission: str) -> bool:
    return any(t == resource_type and fnmatch.fnmatchcase(permission, p) for t, p in NOT_NEEDED)


def gaps(policy: dict[str, Any], resource_types: Iterable[str]) -> dict[str, list[str]]:
    """Each resource type with what the policy does not allow of what it needs (or its whole service)."""
    missing = {}
    for resource_type in sorted(set(resource_types)):
        wanted = needed(resource_type)  # a KeyError names a service with no IAM prefix known here
        service = IAM_PREFIX[resource_type.split("::")[1]]
        lacking = [p for p in wanted if not allows(policy, p)]
        if not any(action.lower().startswith(f"{service}:") for action in allowed_actions(policy)):
            lacking = lacking or [f"{service}:* (no action of the service at all)"]
        if lacking:
            missing[resource_type] = lacking
    return missing


def template_types(template: dict[str, Any]) -> set[str]:
    return {resource["Type"] for resource in template["Resources"].values()}
