"""Integration tier: the real adapters against moto, one in-memory AWS per test."""

from __future__ import annotations

import functools

import moto.kms.models
import pytest
from moto import mock_aws

from lib.domain import webhooks
from local import topology
from local.aws.credentials import boto3_session
from local.aws.provision import Provisioner
from local.sidecars.inbox import WebhookInbox
from local.topology import PhysicalIds
from tests.support.moto_snapshot import MotoSnapshot


@pytest.fixture
def aws(monkeypatch):
    """moto in memory, with fake credentials, and the system's resources provisioned from serverless.yml."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_REKOGNITION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(moto.kms.models, "generate_private_key", _signing_key_of_spec)
    with mock_aws():
        # A session of its own for each test, sharing the worker's parsed service models with the
        # others: a session that parses them itself spends about 0.2 s of CPU on it, for each test.
        session = boto3_session(region_name="us-east-1")
        ids, snapshot = _provisioned_once()
        snapshot.restore()
        yield _Aws(session, ids)


@functools.cache
def _provisioned_once() -> tuple[PhysicalIds, MotoSnapshot]:
    """The system provisioned from serverless.yml once per worker, inside the first test's moto, and
    copied for each test after it (tests/support/moto_snapshot.py)."""
    session = boto3_session(region_name="us-east-1")
    return Provisioner(topology.load("local", env={}), session).provision(), MotoSnapshot()


# moto gives every KMS key a fresh RSA signing key, symmetric ones too (whose signing key nothing
# uses): 50-200 ms of CPU for each key a test creates. One per key spec and worker instead;
# a symmetric key's own material, which encrypts, is still new for each key.
_signing_key_of_spec = functools.cache(moto.kms.models.generate_private_key)


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
        self._clients = {}

    def client(self, service):
        """The test's client for `service`, one for each: a new client costs about 5 ms of CPU."""
        if service not in self._clients:
            self._clients[service] = self.fresh_client(service)
        return self._clients[service]

    def fresh_client(self, service):
        """A client no other code of the test uses: for one that carries an event hook, which counts
        or changes only the calls of the code under test."""
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
