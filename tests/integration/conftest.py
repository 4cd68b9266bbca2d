"""Integration tier: the real adapters against moto, one in-memory AWS per test."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from lib.domain import webhooks
from local import topology
from local.aws.provision import Provisioner
from local.sidecars.inbox import WebhookInbox


@pytest.fixture
def aws(monkeypatch):
    """moto in memory, with fake credentials, and the system's resources provisioned from serverless.yml."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_REKOGNITION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        ids = Provisioner(topology.load("local", env={}), session).provision()
        yield _Aws(session, ids)


@pytest.fixture
def inbox():
    """The local stack's webhook inbox on loopback, with its named receivers (local/sidecars/inbox.py)."""
    inbox = WebhookInbox(webhooks.generate_secret())
    inbox.start()
    yield inbox
    inbox.stop()


class _Aws:
    def __init__(self, session, ids):
        self.session = session
        self.ids = ids

    def client(self, service):
        return self.session.client(service)

    def ref(self, logical_id):
        return self.ids.refs[logical_id]

    def arn(self, logical_id):
        return self.ids.attributes[(logical_id, "Arn")]

    def drain(self, logical_id, wait=0):
        """Every message now in a queue, removed from it."""
        sqs, url, messages = self.client("sqs"), self.ref(logical_id), []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            messages.extend(batch)
