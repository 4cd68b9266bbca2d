"""Auto-disable's conditional writes on moto (lib/adapters/endpoint_records.py), and the deliver
function disabling an endpoint of the inbox that always fails, with a clock the test moves."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response

from handlers import deliver
from handlers.endpoint_deliveries import EndpointDeliverer
from lib.adapters.delivery_queue import DeliveryQueue
from lib.adapters.endpoint_queue import SqsEndpointQueue
from lib.adapters.endpoint_records import EndpointTable
from lib.adapters.secret_box import KmsSecretBox
from lib.domain.model import utc_at
from lib.fetching.endpoint_urls import EndpointUrlPolicy, GuardedWebhookSender
from lib.usecases.delivery import DeliveryPolicy
from lib.usecases.endpoint_delivery import EndpointDelivery
from lib.usecases.subscriptions import Subscriptions
from tests.support.builders import LambdaContext, lambda_record, sqs_event

T0 = 1_800_000_000.0
SPAN = 60


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(aws, inbox):
    class World:
        table = EndpointTable(aws.ref("WebhooksTable"), dynamodb=lambda: aws.client("dynamodb"))
        box = KmsSecretBox(aws.ref("WebhookSecretsKeyAlias"), kms=lambda: aws.client("kms"))
        urls = EndpointUrlPolicy((inbox.address,))
        queue = SqsEndpointQueue(aws.ref("EndpointDeliveryQueue"), sqs=lambda: aws.client("sqs"))
        subscriptions = Subscriptions(table, box, urls, queue)
        clock = Clock()

    return World


def register(world, url: str):
    endpoint, _ = world.subscriptions.register("alice", {"url": url})
    return endpoint.endpoint_id


def test_failed_attempts_agree_on_when_the_failing_began_and_only_an_older_spell_is_cleared(world, inbox):
    endpoint_id = register(world, f"{inbox.url}r/a")
    table = world.table
    # Two attempts failing at once: the second write finds the first's start and keeps it.
    assert table.mark_failing("alice", endpoint_id, utc_at(T0)) == utc_at(T0)
    assert table.mark_failing("alice", endpoint_id, utc_at(T0 + 1)) == utc_at(T0)
    assert table.get("alice", endpoint_id).failing_since == utc_at(T0)
    # A success that answered before the spell began does not end it; a later one does.
    table.mark_healthy("alice", endpoint_id, utc_at(T0 - 1))
    assert table.get("alice", endpoint_id).failing_since == utc_at(T0)
    table.mark_healthy("alice", endpoint_id, utc_at(T0 + 2))
    assert table.get("alice", endpoint_id).failing_since == ""
    table.mark_healthy("alice", endpoint_id, utc_at(T0 + 3))  # healthy already: nothing to clear, no error
    # A deleted endpoint is not brought back by a late failure.
    assert table.delete("alice", endpoint_id)
    assert table.mark_failing("alice", endpoint_id, utc_at(T0)) == ""
    assert table.get("alice", endpoint_id) is None


def test_the_endpoint_is_disabled_once_and_only_while_still_failing_since_then(world, inbox):
    endpoint_id = register(world, f"{inbox.url}r/b")
    table = world.table
    since = table.mark_failing("alice", endpoint_id, utc_at(T0))
    # A success came in between: the failing spell the attempt saw is over, nothing is disabled.
    table.mark_healthy("alice", endpoint_id, utc_at(T0 + 1))
    assert not table.disable_failing("alice", endpoint_id, since, "too long", utc_at(T0 + SPAN))
    assert table.get("alice", endpoint_id).enabled
    since = table.mark_failing("alice", endpoint_id, utc_at(T0 + 2))
    # Two attempts decide at once: one write disables it, the other finds it disabled.
    assert table.disable_failing("alice", endpoint_id, since, "too long", utc_at(T0 + SPAN))
    assert not table.disable_failing("alice", endpoint_id, since, "too long", utc_at(T0 + SPAN))
    stored = table.get("alice", endpoint_id)
    assert (stored.enabled, stored.disabled_reason, stored.failing_since) == (False, "too long", since)
    # Turned back on: its spell starts afresh, stored as such.
    world.subscriptions.update("alice", endpoint_id, {"enabled": True})
    stored = table.get("alice", endpoint_id)
    assert (stored.enabled, stored.disabled_reason, stored.failing_since) == (True, "", "")
    assert not table.disable_failing("alice", "ep_" + "0" * 20, since, "gone", utc_at(T0))  # no such endpoint


def test_the_deliver_function_disables_an_endpoint_that_fails_for_the_span(aws, world, inbox):
    endpoint_id = register(world, f"{inbox.url}r/down?fail=100")
    delivery = EndpointDelivery(
        DeliveryPolicy(url="", timeout_seconds=3, retry_base_seconds=0, retry_max_seconds=0),
        world.table,
        world.table,
        world.box,
        world.urls,
        GuardedWebhookSender(world.urls),
        world.clock,
        disable_after_seconds=SPAN,
    )
    deliverer = EndpointDeliverer(
        delivery, DeliveryQueue(aws.ref("EndpointDeliveryQueue"), aws.ref("EndpointDeadLetterQueue"))
    )
    sqs = aws.client("sqs")

    def attempt_at(seconds_after_t0: float) -> dict:
        world.clock.now = T0 + seconds_after_t0
        world.subscriptions.send_test("alice", endpoint_id)
        [message] = sqs.receive_message(
            QueueUrl=aws.ref("EndpointDeliveryQueue"), AttributeNames=["All"], MaxNumberOfMessages=1
        )["Messages"]
        record = lambda_record(message, aws.arn("EndpointDeliveryQueue"))
        return process_partial_response(
            event=sqs_event(record),
            record_handler=deliverer.process,
            processor=deliver.processor,
            context=LambdaContext(),
        )

    assert attempt_at(0)["batchItemFailures"]  # a 500: retried
    assert world.table.get("alice", endpoint_id).failing_since == utc_at(T0)
    assert attempt_at(SPAN - 1)["batchItemFailures"]
    assert world.table.get("alice", endpoint_id).enabled
    assert attempt_at(SPAN)["batchItemFailures"] == []  # final: this attempt disabled the endpoint
    stored = world.table.get("alice", endpoint_id)
    assert not stored.enabled and utc_at(T0) in stored.disabled_reason and "HTTP 500" in stored.disabled_reason
    [dead] = sqs.receive_message(QueueUrl=aws.ref("EndpointDeadLetterQueue"), MessageAttributeNames=["All"])["Messages"]
    assert json.loads(dead["Body"])["endpoint_id"] == endpoint_id
    assert dead["MessageAttributes"]["failure_reason"]["StringValue"] == stored.disabled_reason
    assert [d["status"] for d in inbox.receivers.deliveries("down")] == [500, 500, 500]
    # Afterwards: skipped, nothing sent.
    assert attempt_at(SPAN + 1)["batchItemFailures"] == []
    assert len(inbox.receivers.deliveries("down")) == 3


def test_a_change_writes_only_the_fields_it_changed_and_only_over_the_values_it_read(world, inbox):
    endpoint_id = register(world, f"{inbox.url}r/c")
    table = world.table
    # A delivery marks the endpoint failing between a PATCH's read and its write: both are kept.
    read = table.get("alice", endpoint_id)
    table.mark_failing("alice", endpoint_id, utc_at(T0))
    patched = replace(read, description="mine", events=("image.recognized",), updated_at=utc_at(T0 + 1))
    assert table.save_changes(read, patched)
    stored = table.get("alice", endpoint_id)
    assert (stored.description, stored.events, stored.failing_since) == ("mine", ("image.recognized",), utc_at(T0))
    # A field that another write changed meanwhile is not overwritten, and nothing else is written.
    read = stored
    table.disable("alice", endpoint_id, "the endpoint answered HTTP 410 Gone", utc_at(T0 + 2))
    by_owner = replace(read, enabled=False, disabled_reason="disabled by its owner", description="x")
    assert not table.save_changes(read, by_owner)
    stored = table.get("alice", endpoint_id)
    assert (stored.enabled, stored.disabled_reason, stored.description) == (
        False,
        "the endpoint answered HTTP 410 Gone",
        "mine",
    )
    # A field emptied is removed; a deleted endpoint is not written back.
    read = stored
    assert table.save_changes(read, replace(read, enabled=True, disabled_reason="", failing_since=""))
    stored = table.get("alice", endpoint_id)
    assert (stored.enabled, stored.disabled_reason, stored.failing_since) == (True, "", "")
    assert table.delete("alice", endpoint_id)
    assert not table.save_changes(stored, replace(stored, description="late"))
    assert table.get("alice", endpoint_id) is None
