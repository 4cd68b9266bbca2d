"""What moto's CloudFormation cannot show: the resource types and properties it accepts and does not apply.

The deployment check (local/deploy/deployment_check.py) reports these as emulator gaps, never as
verified; docs/deploy.md lists them in a table.
"""

from __future__ import annotations

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
