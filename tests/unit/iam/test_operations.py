"""Requests mapped to the IAM actions and resource ARNs AWS checks for them."""

import json
import urllib.parse

import pytest

from local.aws.iam.operations import HttpRequest, Unmapped, describe


def request(method="POST", path="/", query="", headers=None, body=b""):
    return HttpRequest(
        method=method,
        path=path,
        query=urllib.parse.parse_qs(query, keep_blank_values=True),
        headers=headers or {},
        body=body,
        region="us-east-1",
        account="123456789012",
    )


def json_call(service, target, body):
    return describe(service, request(headers={"x-amz-target": target}, body=json.dumps(body).encode()))


def test_batch_write_item_is_checked_once_per_table_as_itself():
    call = json_call("dynamodb", "DynamoDB_20120810.BatchWriteItem", {"RequestItems": {"images": [], "other": []}})
    assert call.checks == (
        ("dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/images"),
        ("dynamodb:BatchWriteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other"),
    )


def test_a_query_on_an_index_names_the_index_arn():
    call = json_call("dynamodb", "DynamoDB_20120810.Query", {"TableName": "images", "IndexName": "by-label"})
    assert call.checks == (("dynamodb:Query", "arn:aws:dynamodb:us-east-1:123456789012:table/images/index/by-label"),)


def test_sqs_batch_operations_are_checked_as_their_single_actions():
    url = "http://127.0.0.1:5000/123456789012/uploads"
    call = json_call("sqs", "AmazonSQS.DeleteMessageBatch", {"QueueUrl": url, "Entries": []})
    assert call.checks == (("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:uploads"),)


def test_sns_publish_and_ssm_parameters_name_their_arns():
    form = urllib.parse.urlencode({"Action": "Publish", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "m"})
    assert describe("sns", request(body=form.encode())).checks == (("sns:Publish", "arn:aws:sns:us-east-1:1:t"),)
    call = json_call("ssm", "AmazonSSM.GetParameter", {"Name": "/app/secret"})
    assert call.checks == (("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/app/secret"),)


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIASES = {"alias/stack-webhook-secrets": KEY_ARN}


def kms_call(operation, body):
    headers = {"x-amz-target": f"TrentService.{operation}"}
    return describe("kms", request(headers=headers, body=json.dumps(body).encode()), ALIASES)


@pytest.mark.parametrize("operation", ["Encrypt", "Decrypt", "GenerateDataKey"])
@pytest.mark.parametrize(
    "key_id",
    [
        KEY_ARN,
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/stack-webhook-secrets",
        "arn:aws:kms:us-east-1:123456789012:alias/stack-webhook-secrets",
    ],
)
def test_kms_calls_are_checked_on_the_key_arn_whatever_name_they_use(operation, key_id):
    assert kms_call(operation, {"KeyId": key_id}).checks == ((f"kms:{operation}", KEY_ARN),)


@pytest.mark.parametrize(
    "operation, body, named",
    [
        ("Decrypt", {"CiphertextBlob": "AAAA"}, "names no key"),
        ("Encrypt", {"KeyId": "alias/someone-else"}, "did not create"),
        ("ReEncrypt", {"DestinationKeyId": KEY_ARN}, "kms:ReEncrypt"),
    ],
)
def test_a_kms_call_that_cannot_be_authorized_is_unmapped(operation, body, named):
    with pytest.raises(Unmapped, match=named):
        kms_call(operation, body)


def test_s3_object_reads_writes_and_versions():
    assert describe("s3", request("GET", "/bucket/images/a b.jpg")).checks == (
        ("s3:GetObject", "arn:aws:s3:::bucket/images/a b.jpg"),
    )
    assert describe("s3", request("GET", "/bucket/k", "versionId=3")).checks == (
        ("s3:GetObjectVersion", "arn:aws:s3:::bucket/k"),
    )
    assert describe("s3", request("PUT", "/bucket/k", "x-id=PutObject")).checks == (
        ("s3:PutObject", "arn:aws:s3:::bucket/k"),
    )
    assert describe("s3", request("GET", "/bucket", "list-type=2&prefix=a")).checks == (
        ("s3:ListBucket", "arn:aws:s3:::bucket"),
    )


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "named"),
    [
        ("s3", "GET", "/", "", "ListBuckets"),
        ("s3", "PUT", "/bucket", "notification", "s3 PUT /bucket?notification"),
        ("dynamodb", "POST", "/", "", None),
    ],
)
def test_an_operation_that_cannot_be_mapped_raises_naming_it(service, method, path, query, named):
    if service == "dynamodb":
        with pytest.raises(Unmapped, match="names no table"):
            json_call("dynamodb", "DynamoDB_20120810.GetItem", {})
        with pytest.raises(Unmapped, match="logs:PutLogEvents"):
            json_call("logs", "Logs_20140328.PutLogEvents", {})
        return
    with pytest.raises(Unmapped, match=named.replace("?", r"\?")):
        describe(service, request(method, path, query))
