"""How a deployment check counts what it compares: verified, an emulator gap, or a failure.

A mismatch is a gap, not a failure, only where the emulator is known to fall short: the resource
types moto's CloudFormation reports complete without creating, and the properties it accepts and
then does not apply. local/deploy/deployment_check.py looks the resources up; this module judges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# moto 5.2.5: resource types its CloudFormation reports complete without creating anything.
MOTO_SKIPPED_TYPES = {
    "AWS::ApiGatewayV2::Api": "HTTP API",
    "AWS::ApiGatewayV2::Stage": "HTTP API stage",
    "AWS::ApiGatewayV2::Integration": "HTTP API Lambda integration",
    "AWS::ApiGatewayV2::Route": "HTTP API route",
    "AWS::ApiGatewayV2::Authorizer": "HTTP API JWT authorizer",
    "AWS::Cognito::UserPool": "Cognito user pool",
    "AWS::Cognito::UserPoolClient": "Cognito user pool client",
    "AWS::SNS::Subscription": "SNS to SQS subscription",
    "AWS::SNS::TopicPolicy": "topic policy",
    "AWS::SQS::QueuePolicy": "queue policy",
    "AWS::S3::BucketPolicy": "bucket policy",
    "AWS::CloudWatch::Alarm": "CloudWatch alarm",
}
# moto 5.2.5: properties its CloudFormation accepts and then does not apply.
MOTO_IGNORED_PROPERTIES = {
    ("AWS::S3::Bucket", "NotificationConfiguration"),
    ("AWS::S3::Bucket", "PublicAccessBlockConfiguration"),
    ("AWS::DynamoDB::Table", "SSESpecification"),
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"),
    ("AWS::Lambda::Function", "Architectures"),
    ("AWS::Lambda::Permission", "SourceArn"),
    ("AWS::IAM::Role", "ManagedPolicyArns"),
}

VERIFIED, GAP, FAILED = "verified", "gap", "failed"


@dataclass(frozen=True)
class Finding:
    outcome: str  # VERIFIED, GAP or FAILED
    subject: str
    detail: str


@dataclass
class Subject:
    """What was checked about one resource, sorted into verified, gaps and failures."""

    name: str
    resource_type: str
    ignored: set[tuple[str, str]]
    verified: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def expect(self, what: str, expected: Any, actual: Any, prop: str | None = None) -> None:
        if expected == actual:
            self.verified.append(what)
        elif prop and (self.resource_type, prop) in self.ignored:
            self.gaps.append(f"{prop} not applied by the emulator{_values(expected, actual)}")
        else:
            self.failed.append(f"{what}: expected {expected!r}, found {actual!r}")

    def findings(self) -> Iterable[Finding]:
        if self.verified:
            yield Finding(VERIFIED, self.name, ", ".join(self.verified))
        yield from (Finding(GAP, self.name, gap) for gap in self.gaps)
        yield from (Finding(FAILED, self.name, failure) for failure in self.failed)


def _values(expected: Any, actual: Any) -> str:
    """The two values, when they are short enough and say more than yes or no."""
    if isinstance(expected, bool):
        return ""
    shown = f" (declared {expected!r}, found {actual!r})"
    return shown if len(shown) <= 60 else ""
