"""AWS clients, built on first use and then reused for the life of the process.

Never at import time: a test's emulator, or the local stack's endpoint variables, must exist
before the client does. boto3 itself is imported lazily too, which keeps handler cold imports fast.
"""

from __future__ import annotations

import functools
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
