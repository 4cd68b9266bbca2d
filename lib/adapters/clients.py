"""AWS clients, built once per process and then reused.

Never at import time in a test: a test's emulator, or the local stack's endpoint variables, must
exist before the client does. In Lambda, the handlers build theirs during the init phase instead
(`prepare`), as Lambda runs it: the module's top level, before the first request, which would
otherwise wait for boto3's import and each client's construction.
"""

from __future__ import annotations

import functools
import os
from typing import Any

# Retries inside boto3 are kept short: the queues already give durable retries with backoff.
_RETRIES = {"max_attempts": 3, "mode": "standard"}


@functools.cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries=_RETRIES, connect_timeout=3, read_timeout=20))


@functools.cache
def s3_signer() -> Any:
    """An S3 client that signs presigned URLs and POSTs with SigV4 (`s3v4`).

    boto3's default signer gives presigned POSTs SigV2 fields (AWSAccessKeyId, signature), which
    regions opened since 2014 refuse, and which AWS is retiring everywhere.
    """
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4", retries=_RETRIES))


def in_lambda_init() -> bool:
    """True when a Lambda runtime (AWS's, or the local stack's) imports the handler to serve it."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def prepare(*services: str) -> None:
    """Builds these clients now, so the first request finds them ready."""
    for service in services:
        client(service)
