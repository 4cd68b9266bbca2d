"""The policy engine: AWS's evaluation order, wildcards, and conditions that can never widen access."""

from local.aws.iam.policy import Request, decide, parse, unsupported_conditions

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/images"


def statements(*raw):
    return parse({"Version": "2012-10-17", "Statement": list(raw)})


def test_an_allow_for_the_action_and_resource_allows_and_nothing_else_does():
    policy = statements({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": TABLE})
    assert decide(policy, Request("dynamodb:GetItem", TABLE)) == "Allow"
    assert decide(policy, Request("dynamodb:BatchWriteItem", TABLE)) == ""
    assert decide(policy, Request("dynamodb:GetItem", TABLE + "-other")) == ""


def test_actions_match_without_case_and_resources_with_wildcards():
    policy = statements({"Effect": "Allow", "Action": "S3:get*", "Resource": "arn:aws:s3:::bucket/images/*"})
    assert decide(policy, Request("s3:GetObject", "arn:aws:s3:::bucket/images/a/b.jpg")) == "Allow"
    assert decide(policy, Request("s3:GetObject", "arn:aws:s3:::bucket/other/b.jpg")) == ""
    assert decide(policy, Request("s3:PutObject", "arn:aws:s3:::bucket/images/b.jpg")) == ""


def test_an_explicit_deny_wins_over_any_allow():
    policy = statements(
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"},
    )
    assert decide(policy, Request("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")) == "Deny"
    assert decide(policy, Request("sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:q")) == "Allow"


def test_the_tls_only_deny_does_not_apply_to_the_local_endpoints_taken_as_secure():
    policy = statements(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    secure = {"aws:securetransport": "true"}
    assert decide(policy, Request("s3:GetObject", "arn:aws:s3:::b/k", secure, principal=("AWS", "x"))) == ""
    plain = {"aws:securetransport": "false"}
    assert decide(policy, Request("s3:GetObject", "arn:aws:s3:::b/k", plain, principal=("AWS", "x"))) == "Deny"


def test_a_resource_policy_names_its_principal_and_its_source():
    policy = statements(
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:1:q",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:topic"}},
        }
    )

    def request(principal, source):
        context = {"aws:sourcearn": source}
        return Request("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", context, principal=principal)

    assert decide(policy, request(("Service", "sns.amazonaws.com"), "arn:aws:sns:us-east-1:1:topic")) == "Allow"
    assert decide(policy, request(("Service", "sns.amazonaws.com"), "arn:aws:sns:us-east-1:1:other")) == ""
    assert decide(policy, request(("Service", "s3.amazonaws.com"), "arn:aws:sns:us-east-1:1:topic")) == ""


def test_a_condition_that_is_not_evaluated_never_turns_a_deny_into_an_allow():
    condition = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    allow = statements({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*", "Condition": condition})
    deny = statements(
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
        {"Effect": "Deny", "Action": "sns:Publish", "Resource": "*", "Condition": condition},
    )
    assert decide(allow, Request("sns:Publish", "arn:aws:sns:us-east-1:1:t")) == ""
    assert decide(deny, Request("sns:Publish", "arn:aws:sns:us-east-1:1:t")) == "Deny"
    assert unsupported_conditions(allow) == ["IpAddress aws:SourceIp"]


def test_not_action_and_not_resource_exclude_what_they_name():
    policy = statements({"Effect": "Allow", "NotAction": "s3:DeleteObject", "NotResource": "arn:aws:s3:::b/secret/*"})
    assert decide(policy, Request("s3:GetObject", "arn:aws:s3:::b/a")) == "Allow"
    assert decide(policy, Request("s3:DeleteObject", "arn:aws:s3:::b/a")) == ""
    assert decide(policy, Request("s3:GetObject", "arn:aws:s3:::b/secret/a")) == ""
