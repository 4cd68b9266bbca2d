"""The local IAM layer in front of moto's server: each function's role, as AWS would apply it."""

from __future__ import annotations

import dataclasses
import json

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from local import topology
from local.aws.credentials import boto3_session, fake_session
from local.aws.emulator import MotoEmulator
from local.aws.iam import LocalIam
from local.aws.provision import Provisioner


class Guarded:
    def __init__(self):
        system = topology.load("local", env={})
        self.iam = LocalIam(MotoEmulator.account_id)
        self.emulator = MotoEmulator(wrap=self.iam.guard.wrap, post_secret=self.iam.guard.secret_of)
        self.endpoint = self.emulator.start()
        self.admin = fake_session("us-east-1", self.endpoint)
        self.ids = Provisioner(system, self.admin).provision()
        self.iam.configure(system, self.ids)
        self.system = system

    def client(self, function, service, **kwargs):
        return self.iam.session(function, "us-east-1").client(service, endpoint_url=self.endpoint, **kwargs)

    def ref(self, logical_id):
        return self.ids.refs[logical_id]


@pytest.fixture(scope="module")
def stack():
    guarded = Guarded()
    yield guarded
    guarded.emulator.stop()


def error_of(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]


def test_a_role_does_what_its_statements_allow(stack):
    table = stack.ref("ImagesTable")
    item = {"pk": {"S": "IMAGE#x"}, "sk": {"S": "LABEL#cat"}}
    stack.client("recognize", "dynamodb").batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]})
    assert stack.client("images", "dynamodb").get_item(TableName=table, Key=item)["Item"] == item


def test_a_call_outside_the_role_is_denied_as_aws_denies_it_naming_role_action_and_resource(stack):
    table = stack.ref("ImagesTable")
    error = error_of(
        lambda: stack.client("images", "dynamodb").put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    )
    assert error["Code"] == "AccessDeniedException"
    assert "assumed-role/image-recognition-local-ImagesRole/" in error["Message"]
    assert f"dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/{table}" in error["Message"]
    assert stack.iam.guard.denials[-1] == error["Message"]


@pytest.mark.parametrize(
    ("function", "service", "call", "code", "action"),
    [
        (
            "recognize",
            "sqs",
            # recognize may re-queue to its own queue only (throttles), never to the integration queue.
            lambda c, s: c.send_message(QueueUrl=s.ref("IntegrationQueue"), MessageBody="x"),
            "AccessDenied",
            "sqs:SendMessage",
        ),
        (
            "upload",
            "sns",
            lambda c, s: c.publish(TopicArn=s.ref("ResultsTopic"), Message="x"),
            "AuthorizationError",
            "sns:Publish",
        ),
        (
            "upload",
            "s3",
            lambda c, s: c.get_object(Bucket=s.ref("ImagesBucket"), Key="images/a.jpg"),
            "AccessDenied",
            "s3:GetObject",
        ),
        (
            "recognize",
            "ssm",
            lambda c, s: c.get_parameter(Name="/image-recognition/local/webhook-secret"),
            "AccessDeniedException",
            "ssm:GetParameter",
        ),
    ],
)
def test_each_service_denies_with_its_own_error_code(stack, function, service, call, code, action):
    error = error_of(lambda: call(stack.client(function, service), stack))
    assert error["Code"] == code
    assert f"perform: {action}" in error["Message"]


def test_sqs_batch_calls_are_checked_as_their_single_actions(stack):
    # deliver may send to its own queue (re-queued throttles) and its DLQ, not to the uploads queue.
    url = stack.ref("UploadsQueue")
    deliver = stack.client("deliver", "sqs")
    error = error_of(lambda: deliver.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}]))
    assert "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:" in error["Message"]
    dlq = stack.ref("IntegrationDeadLetterQueue")
    assert deliver.send_message_batch(QueueUrl=dlq, Entries=[{"Id": "1", "MessageBody": "x"}])["Successful"]


def test_an_operation_the_layer_cannot_map_is_denied_naming_it(stack):
    error = error_of(lambda: stack.client("recognize", "s3").list_buckets())
    assert error["Code"] == "AccessDenied" and "ListBuckets" in error["Message"]
    error = error_of(lambda: stack.client("recognize", "logs").describe_log_groups())
    assert "logs:DescribeLogGroups is not mapped" in error["Message"]


def test_the_stack_itself_calls_as_the_account_administrator(stack):
    assert stack.admin.client("s3").list_buckets()["Buckets"]


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_a_presigned_url_works_as_its_signer_only_while_valid_and_unaltered(stack, version):
    bucket = stack.ref("ImagesBucket")
    stack.admin.client("s3").put_object(Bucket=bucket, Key="images/p.jpg", Body=b"jpeg")
    config = Config(signature_version=version)
    recognize, upload = (stack.client(f, "s3", config=config) for f in ("recognize", "upload"))
    url = recognize.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "images/p.jpg"}, ExpiresIn=60)
    assert requests.get(url, timeout=5).content == b"jpeg"
    forged = url.replace("Signature=", "Signature=0")
    assert requests.get(forged, timeout=5).status_code == 403
    not_allowed = upload.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "images/p.jpg"})
    answer = requests.get(not_allowed, timeout=5)
    assert answer.status_code == 403 and b"s3:GetObject" in answer.content
    expired = recognize.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "images/p.jpg"}, ExpiresIn=-1
    )
    answer = requests.get(expired, timeout=5)
    assert answer.status_code == 403 and b"Request has expired" in answer.content


def test_a_bucket_policy_deny_applies_to_every_role(stack):
    deny = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "ImagesBucket"},
            "PolicyDocument": {
                "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]
            },
        },
    }
    system = dataclasses.replace(stack.system, resources={**stack.system.resources, "ImagesBucketPolicy": deny})
    stack.iam.configure(system, stack.ids)
    try:
        error = error_of(
            lambda: stack.client("recognize", "s3").get_object(Bucket=stack.ref("ImagesBucket"), Key="images/p.jpg")
        )
        assert "explicit deny in a resource-based policy" in error["Message"]
    finally:
        stack.iam.configure(stack.system, stack.ids)


def test_messages_and_items_over_their_limits_fail_as_on_aws_whoever_sends_them(stack):
    sqs, sns, dynamodb = (stack.admin.client(s) for s in ("sqs", "sns", "dynamodb"))
    error = error_of(lambda: sqs.send_message(QueueUrl=stack.ref("UploadsQueue"), MessageBody="x" * 262_145))
    assert error["Code"] == "InvalidParameterValue" and "262144 bytes" in error["Message"]
    error = error_of(lambda: sns.publish(TopicArn=stack.ref("ResultsTopic"), Message="x" * 262_145))
    assert error["Code"] == "InvalidParameter"
    item = {"pk": {"S": "IMAGE#big"}, "sk": {"S": "IMAGE"}, "blob": {"S": "x" * 409_600}}
    error = error_of(lambda: dynamodb.put_item(TableName=stack.ref("ImagesTable"), Item=item))
    assert error["Code"] == "ValidationException" and "maximum allowed size" in error["Message"]
    recognize = stack.client("recognize", "sns")
    error = error_of(
        lambda: recognize.publish(TopicArn=stack.ref("ResultsTopic"), Message=json.dumps({"x": "y" * 262_144}))
    )
    assert error["Code"] == "InvalidParameter"


def test_the_local_rekognition_reads_the_image_with_its_callers_credentials(stack, monkeypatch):
    from local.rekognition import callers, s3_source
    from local.rekognition.errors import RekognitionError

    bucket = stack.ref("ImagesBucket")
    stack.admin.client("s3").put_object(Bucket=bucket, Key="images/r.jpg", Body=b"jpeg")
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint)
    monkeypatch.setenv(callers.CALLERS_VARIABLE, stack.iam.rekognition_callers(stack.system, stack.endpoint))
    recognize, upload = (stack.iam.credentials.for_function(f).access_key for f in ("recognize", "upload"))

    def read_as(access_key):
        caller = callers.identify(
            f"AWS4-HMAC-SHA256 Credential={access_key}/20261130/us-east-1/rekognition/aws4_request"
        )
        with s3_source.as_caller(caller):
            return s3_source.read_s3_object(bucket, "images/r.jpg", None, 1024)

    assert read_as(recognize) == b"jpeg"
    with pytest.raises(RekognitionError) as refused:
        read_as(upload)
    assert refused.value.code == "InvalidS3ObjectException" and "AccessDenied" in refused.value.message
    assert "UploadRole" in stack.iam.guard.denials[-1] and "s3:GetObject" in stack.iam.guard.denials[-1]
    with pytest.raises(RuntimeError, match="outside as_caller"):
        s3_source.read_s3_object(bucket, "images/r.jpg", None, 1024)  # never as the service itself


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("s3", lambda c, s: c.get_object(Bucket=s.ref("ImagesBucket"), Key="images/a.jpg"), "InvalidAccessKeyId"),
        (
            "dynamodb",
            lambda c, s: c.get_item(TableName=s.ref("ImagesTable"), Key={"pk": {"S": "a"}}),
            "UnrecognizedClientException",
        ),
        ("sqs", lambda c, s: c.get_queue_attributes(QueueUrl=s.ref("UploadsQueue")), "InvalidClientTokenId"),
        ("sns", lambda c, s: c.publish(TopicArn=s.ref("ResultsTopic"), Message="x"), "InvalidClientTokenId"),
    ],
)
def test_a_key_the_stack_did_not_issue_is_refused_by_every_service_naming_why(stack, service, call, code):
    stranger = boto3_session(aws_access_key_id="AKIASTRANGER", aws_secret_access_key="x", region_name="us-east-1")
    error = error_of(lambda: call(stranger.client(service, endpoint_url=stack.endpoint), stack))
    assert error["Code"] == code
    assert "access key AKIASTRANGER is neither a function's role nor the stack's administrator key" in error["Message"]
    assert stack.iam.guard.denials[-1] == error["Message"]


def test_only_the_calls_aws_serves_unsigned_pass_unsigned(stack):
    from botocore import UNSIGNED

    unsigned = stack.admin.client("s3", config=Config(signature_version=UNSIGNED))
    assert error_of(lambda: unsigned.list_objects_v2(Bucket=stack.ref("ImagesBucket")))["Code"] == "AccessDenied"
    table = stack.admin.client("dynamodb", config=Config(signature_version=UNSIGNED))
    error = error_of(lambda: table.describe_table(TableName=stack.ref("ImagesTable")))
    assert error["Code"] == "MissingAuthenticationTokenException"
    # Cognito's sign-in is public on AWS: it passes, and moto answers it (here: no such client).
    cognito = stack.admin.client("cognito-idp", config=Config(signature_version=UNSIGNED))
    error = error_of(lambda: cognito.initiate_auth(ClientId="none", AuthFlow="USER_PASSWORD_AUTH", AuthParameters={}))
    assert error["Code"] == "ResourceNotFoundException"


def test_a_presigned_post_is_held_to_its_signature_expiry_and_conditions(stack):
    bucket = stack.ref("ImagesBucket")
    config = Config(signature_version="s3v4")
    upload, images = (stack.client(f, "s3", config=config) for f in ("upload", "images"))
    conditions = [["content-length-range", 1, 1000], ["starts-with", "$key", "images/"], {"Content-Type": "image/jpeg"}]

    def post(client=upload, key="images/form.jpg", size=10, content_type="image/jpeg", expires=60, tamper=False):
        form = client.generate_presigned_post(
            bucket, key, Fields={"Content-Type": "image/jpeg"}, Conditions=conditions, ExpiresIn=expires
        )
        fields = dict(form["fields"], **{"Content-Type": content_type})
        if tamper:
            fields["policy"] = fields["policy"][:-4] + "AAA="
        return requests.post(form["url"], data=fields, files={"file": ("a.jpg", b"x" * size)}, timeout=10)

    assert post().status_code in (200, 204)
    assert stack.admin.client("s3").get_object(Bucket=bucket, Key="images/form.jpg")["Body"].read() == b"x" * 10
    too_large = post(size=2000)
    assert too_large.status_code == 400 and b"EntityTooLarge" in too_large.content
    wrong_type = post(content_type="text/html")
    assert wrong_type.status_code == 403 and b"Policy Condition failed" in wrong_type.content
    assert b"SignatureDoesNotMatch" in post(tamper=True).content
    assert b"Policy expired" in post(expires=-5).content
    outside_role = post(client=images)
    assert outside_role.status_code == 403 and b"s3:PutObject" in outside_role.content


def test_a_sigv2_presigned_post_is_refused_as_buckets_created_since_2020_refuse_it(stack):
    # S3 takes SigV2 only for buckets created before June 2020; this stack's buckets are all newer.
    bucket = stack.ref("ImagesBucket")
    upload = stack.client("upload", "s3", config=Config(signature_version="s3"))
    form = upload.generate_presigned_post(bucket, "images/v2.jpg", Conditions=[["starts-with", "$key", "images/"]])
    refused = requests.post(form["url"], data=form["fields"], files={"file": ("a.jpg", b"x")}, timeout=10)
    assert refused.status_code == 400 and b"InvalidArgument" in refused.content
    with pytest.raises(ClientError):
        stack.admin.client("s3").head_object(Bucket=bucket, Key="images/v2.jpg")
