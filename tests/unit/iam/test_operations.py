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


def test_deleting_a_named_version_needs_delete_object_version():
    assert describe("s3", request("DELETE", "/bucket/images/a.jpg", "versionId=3")).checks == (
        ("s3:DeleteObjectVersion", "arn:aws:s3:::bucket/images/a.jpg"),
    )
    assert describe("s3", request("DELETE", "/bucket/images/a.jpg")).checks == (
        ("s3:DeleteObject", "arn:aws:s3:::bucket/images/a.jpg"),
    )


def test_listing_versions_needs_list_bucket_versions_on_the_bucket():
    call = describe("s3", request("GET", "/bucket", "versions&prefix=images/a&key-marker=k&version-id-marker=v"))
    assert (call.operation, call.checks) == ("ListObjectVersions", (("s3:ListBucketVersions", "arn:aws:s3:::bucket"),))


def test_delete_objects_checks_each_key_as_its_own_delete():
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Object><Key>images/a.jpg</Key><VersionId>v1</VersionId></Object>"
        b"<Object><Key>uploads/a.jpg</Key></Object><Quiet>true</Quiet></Delete>"
    )
    call = describe("s3", request("POST", "/bucket", "delete", body=body))
    assert call.checks == (
        ("s3:DeleteObjectVersion", "arn:aws:s3:::bucket/images/a.jpg"),
        ("s3:DeleteObject", "arn:aws:s3:::bucket/uploads/a.jpg"),
    )


def test_an_aws_chunked_delete_objects_body_is_read_through_its_chunks():
    document = b"<Delete><Object><Key>images/a.jpg</Key><VersionId>null</VersionId></Object></Delete>"
    body = b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n" % (len(document), document)
    headers = {"content-encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    call = describe("s3", request("POST", "/bucket", "delete", headers=headers, body=body))
    assert call.checks == (("s3:DeleteObjectVersion", "arn:aws:s3:::bucket/images/a.jpg"),)


@pytest.mark.parametrize("body", [b"", b"<Delete/>", b"<Delete><Object><VersionId>1</VersionId></Object></Delete>"])
def test_a_delete_objects_body_that_names_no_key_is_unmapped_and_so_denied(body):
    with pytest.raises(Unmapped, match=r"\?delete"):
        describe("s3", request("POST", "/bucket", "delete", body=body))


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
