"""Webhook subscriptions on moto: the endpoints table, the KMS secret box, and the deliver function's
fan-out and per-endpoint delivery against the inbox's named receivers on loopback."""

from __future__ import annotations

import json

import pytest
import standardwebhooks.webhooks as standard
from aws_lambda_powertools.utilities.batch import process_partial_response

from handlers import deliver
from handlers.endpoint_deliveries import EndpointDeliverer
from lib.adapters.delivery_queue import DeliveryQueue
from lib.adapters.endpoint_queue import SqsEndpointQueue
from lib.adapters.endpoint_records import EndpointTable
from lib.adapters.repository import ImageRepository
from lib.adapters.secret_box import KmsSecretBox
from lib.adapters.webhook_sender import HttpWebhookSender
from lib.domain.endpoints import EndpointMessage
from lib.domain.errors import TransientError
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.fetching.endpoint_urls import EndpointUrlPolicy, GuardedWebhookSender
from lib.usecases.delivery import PERMANENT, DeliveryPolicy, WebhookDelivery
from lib.usecases.endpoint_delivery import EndpointDelivery, FanOut
from lib.usecases.subscriptions import Subscriptions
from tests.support.builders import LambdaContext, image_record, lambda_record, sqs_event

POLICY = DeliveryPolicy(url="", timeout_seconds=3, retry_base_seconds=10, retry_max_seconds=900)


class World:
    def __init__(self, aws, inbox):
        self.aws, self.inbox = aws, inbox
        self.sqs, self.kms = aws.client("sqs"), aws.fresh_client("kms")
        self.table = EndpointTable(aws.ref("WebhooksTable"), dynamodb=lambda: aws.client("dynamodb"))
        self.box = KmsSecretBox(aws.ref("WebhookSecretsKeyAlias"), kms=lambda: self.kms)
        self.urls = EndpointUrlPolicy((inbox.address,))
        self.endpoint_queue = SqsEndpointQueue(aws.ref("EndpointDeliveryQueue"), sqs=lambda: self.sqs)
        self.subscriptions = Subscriptions(self.table, self.box, self.urls, self.endpoint_queue)
        self.repository = ImageRepository(aws.ref("ImagesTable"), dynamodb=lambda: aws.client("dynamodb"))

    def receiver(self, name: str, query: str = "") -> str:
        return f"{self.inbox.url}r/{name}{query}"

    def stage_deliverer(self) -> deliver.Deliverer:
        delivery = WebhookDelivery(POLICY, secret=lambda: "", repository=self.repository, sender=HttpWebhookSender())
        queue = DeliveryQueue(self.aws.ref("IntegrationQueue"), self.aws.ref("IntegrationDeadLetterQueue"))
        return deliver.Deliverer(delivery, queue, fan_out=FanOut(self.table, self.table, self.endpoint_queue))

    def endpoint_deliverer(self) -> EndpointDeliverer:
        delivery = EndpointDelivery(
            POLICY, self.table, self.table, self.box, self.urls, GuardedWebhookSender(self.urls)
        )
        queue = DeliveryQueue(self.aws.ref("EndpointDeliveryQueue"), self.aws.ref("EndpointDeadLetterQueue"))
        return EndpointDeliverer(delivery, queue)

    def record(self, logical_id: str, body: str | None = None) -> dict:
        url = self.aws.ref(logical_id)
        if body is not None:
            self.sqs.send_message(QueueUrl=url, MessageBody=body)
        [message] = self.sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MaxNumberOfMessages=1)["Messages"]
        return lambda_record(message, self.aws.arn(logical_id))

    def run(self, record: dict, process) -> dict:
        return process_partial_response(
            event=sqs_event(record), record_handler=process, processor=deliver.processor, context=LambdaContext()
        )

    def image_event(self, owner: str) -> CompletionEvent:
        record = image_record()
        self.repository.create_pending(record)
        return CompletionEvent.for_image(RECOGNIZED, record.to_api(), owner)


@pytest.fixture
def world(aws, inbox):
    return World(aws, inbox)


def test_a_secret_decrypts_only_for_its_own_owner_and_endpoint_and_is_cached(world):
    calls = []
    world.kms.meta.events.register("provide-client-params.kms.Decrypt", lambda params, **_: calls.append(params))
    ciphertext = world.box.encrypt("whsec_c2VjcmV0", "alice", "ep_1")
    assert "c2VjcmV0" not in ciphertext
    assert world.box.decrypt(ciphertext, "alice", "ep_1") == "whsec_c2VjcmV0"
    assert world.box.decrypt(ciphertext, "alice", "ep_1") == "whsec_c2VjcmV0"
    assert len(calls) == 1 and calls[0]["KeyId"] == world.aws.ref("WebhookSecretsKeyAlias")
    for owner, endpoint in (("bob", "ep_1"), ("alice", "ep_2")):
        with pytest.raises(TransientError):
            KmsSecretBox(world.box.key_id, kms=lambda: world.kms).decrypt(ciphertext, owner, endpoint)


def test_endpoints_are_kept_per_owner_and_a_delivery_is_claimed_once(world):
    endpoint, _ = world.subscriptions.register("alice", {"url": world.receiver("a")})
    assert world.table.list_for_owner("alice") == [endpoint] and world.table.list_for_owner("bob") == []
    assert world.table.get("bob", endpoint.endpoint_id) is None
    world.table.disable("alice", endpoint.endpoint_id, "HTTP 410", "now")
    assert world.table.get("alice", endpoint.endpoint_id).disabled_reason == "HTTP 410"
    assert world.table.claim("alice", endpoint.endpoint_id, "msg_1", "m1")
    assert world.table.claim("alice", endpoint.endpoint_id, "msg_1", "m1")  # the same message, not yet sent
    # Another message (a re-queue after a throttle, a redrive) may queue it too while it is unsent.
    assert world.table.claim("alice", endpoint.endpoint_id, "msg_1", "m2")
    world.table.mark_sent("alice", endpoint.endpoint_id, "msg_1")
    assert not world.table.claim("alice", endpoint.endpoint_id, "msg_1", "m1")
    assert not world.table.claim("alice", endpoint.endpoint_id, "msg_1", "m3")
    assert not world.table.is_delivered("alice", endpoint.endpoint_id, "msg_1")
    assert world.table.begin_send("alice", endpoint.endpoint_id, "msg_1", 60)
    assert not world.table.begin_send("alice", endpoint.endpoint_id, "msg_1", 60)  # held by the first
    world.table.end_send("alice", endpoint.endpoint_id, "msg_1")
    assert world.table.begin_send("alice", endpoint.endpoint_id, "msg_1", 60)
    world.table.mark_delivered("alice", endpoint.endpoint_id, "msg_1")
    assert world.table.is_delivered("alice", endpoint.endpoint_id, "msg_1")
    assert not world.table.begin_send("alice", endpoint.endpoint_id, "msg_1", 60)  # delivered: never again
    assert world.table.begin_send("alice", endpoint.endpoint_id, "msg_test_1", 60)  # no claim needed first
    assert world.table.delete("alice", endpoint.endpoint_id) and not world.table.delete("alice", endpoint.endpoint_id)


def test_an_event_fans_out_and_each_endpoint_gets_it_signed_with_its_own_secret(world, inbox):
    alice_one, secret_one = world.subscriptions.register("alice", {"url": world.receiver("one")})
    alice_two, secret_two = world.subscriptions.register("alice", {"url": world.receiver("two", "?fail=1")})
    world.subscriptions.register("bob", {"url": world.receiver("bob")})
    event = world.image_event("alice")
    assert world.run(world.record("IntegrationQueue", event.to_message()), world.stage_deliverer().process) == {
        "batchItemFailures": []
    }
    records = [world.record("EndpointDeliveryQueue"), world.record("EndpointDeliveryQueue")]
    by_endpoint = {json.loads(r["body"])["endpoint_id"]: r for r in records}
    assert set(by_endpoint) == {alice_one.endpoint_id, alice_two.endpoint_id}
    endpoint_deliverer = world.endpoint_deliverer()
    assert world.run(by_endpoint[alice_one.endpoint_id], endpoint_deliverer.process) == {"batchItemFailures": []}
    failing = by_endpoint[alice_two.endpoint_id]
    assert world.run(failing, endpoint_deliverer.process) == {
        "batchItemFailures": [{"itemIdentifier": failing["messageId"]}]
    }
    [one] = inbox.receivers.deliveries("one")
    standard.Webhook(secret_one).verify(one["body"], one["headers"])
    [two] = inbox.receivers.deliveries("two")
    assert two["status"] == 500 and two["headers"]["webhook-id"] == one["headers"]["webhook-id"] == event.id
    with pytest.raises(standard.WebhookVerificationError):
        standard.Webhook(secret_one).verify(two["body"], two["headers"])
    standard.Webhook(secret_two).verify(two["body"], two["headers"])
    assert inbox.receivers.deliveries("bob") == []


def test_a_redirect_is_the_receivers_answer_and_is_not_followed(world, inbox):
    endpoint, _ = world.subscriptions.register("alice", {"url": world.receiver("moved", "?status=302")})
    event = world.image_event("alice")
    decision = world.endpoint_deliverer().delivery.deliver(EndpointMessage(event, "alice", endpoint.endpoint_id), 1)
    assert decision.action == PERMANENT and "302" in decision.reason
    assert len(inbox.receivers.deliveries("moved")) == 1


def test_a_410_disables_the_endpoint(world, inbox):
    endpoint, _ = world.subscriptions.register("alice", {"url": world.receiver("gone", "?status=410")})
    world.subscriptions.send_test("alice", endpoint.endpoint_id)
    record = world.record("EndpointDeliveryQueue")
    assert world.run(record, world.endpoint_deliverer().process) == {"batchItemFailures": []}
    stored = world.table.get("alice", endpoint.endpoint_id)
    assert not stored.enabled and "410" in stored.disabled_reason
    [dead] = world.aws.drain("EndpointDeadLetterQueue")
    assert json.loads(dead["Body"])["endpoint_id"] == endpoint.endpoint_id
