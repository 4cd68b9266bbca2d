"""Presigned URLs are verified as the role that signed them: signature and expiry."""

import datetime as dt
import urllib.parse

import boto3
import pytest
from botocore.config import Config

from local.aws.iam.presigned import PresignError, verify_presigned

SECRET = "role-secret"


@pytest.fixture(params=["s3v4", "s3"])
def version(request):
    """boto3 presigns with SigV2 for S3 in us-east-1 unless told otherwise; both must be verified."""
    return request.param


def presigned_environ(version, secret=SECRET, expires=60, method="GET"):
    s3 = boto3.session.Session(
        aws_access_key_id="ASIALOCALTEST", aws_secret_access_key=secret, region_name="us-east-1"
    ).client("s3", endpoint_url="http://127.0.0.1:5000", config=Config(signature_version=version))
    operation = "get_object" if method == "GET" else "put_object"
    url = s3.generate_presigned_url(operation, Params={"Bucket": "b", "Key": "images/a b.jpg"}, ExpiresIn=expires)
    parts = urllib.parse.urlsplit(url)
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": urllib.parse.unquote(parts.path),
        "RAW_URI": parts.path + "?" + parts.query,
        "QUERY_STRING": parts.query,
        "HTTP_HOST": parts.netloc,
    }


def test_a_url_signed_with_the_role_secret_passes(version):
    verify_presigned(presigned_environ(version), SECRET)
    verify_presigned(presigned_environ(version, method="PUT"), SECRET)


def test_a_url_signed_with_another_secret_or_altered_fails(version):
    with pytest.raises(PresignError, match="SignatureDoesNotMatch"):
        verify_presigned(presigned_environ(version, secret="other"), SECRET)
    environ = presigned_environ(version)
    environ["RAW_URI"] = environ["RAW_URI"].replace("a%20b.jpg", "c.jpg")
    with pytest.raises(PresignError, match="SignatureDoesNotMatch"):
        verify_presigned(environ, SECRET)


def test_an_expired_url_fails(version):
    environ = presigned_environ(version, expires=60)
    verify_presigned(environ, SECRET)  # within its minute
    an_hour_later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with pytest.raises(PresignError, match="Request has expired"):
        verify_presigned(environ, SECRET, now=an_hour_later)


def test_a_presigned_post_refuses_a_form_field_its_policy_does_not_cover():
    from local.aws.iam.presigned_post import post_access_key, verify_post

    s3 = boto3.session.Session(
        aws_access_key_id="ASIALOCALTEST", aws_secret_access_key=SECRET, region_name="us-east-1"
    ).client("s3", endpoint_url="http://127.0.0.1:5000", config=Config(signature_version="s3v4"))
    fields = s3.generate_presigned_post("b", "images/a.jpg", ExpiresIn=60)["fields"]
    assert post_access_key(fields) == "ASIALOCALTEST"
    verify_post(fields, 10, "b", SECRET)
    with pytest.raises(PresignError, match="Extra input fields: x-amz-meta-owner"):
        verify_post({**fields, "x-amz-meta-owner": "someone"}, 10, "b", SECRET)
    with pytest.raises(PresignError, match="SignatureDoesNotMatch"):
        verify_post(fields, 10, "b", "another secret")
