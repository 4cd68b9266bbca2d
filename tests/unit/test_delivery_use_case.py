"""Webhook delivery (lib/usecases/delivery.py) in memory: signed, once in effect, and what to do with each answer."""

import json

from aws_lambda_powertools import Logger

from lib.domain import webhooks
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.ports import Reply
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, DeliveryPolicy, WebhookDelivery
from tests.support.builders import image_record
from tests.support.fakes import FakeImageRepository, FakeWebhookSender

Logger()  # the handler's logger, whose child loggers the use case logs through

SECRET = webhooks.generate_secret()
URL = "https://receiver.example/hooks"


class World:
    def __init__(self, *replies, url=URL, record=None):
        self.record = record or image_record()
        self.repository = FakeImageRepository(self.record)
        self.sender = FakeWebhookSender(*replies)
        policy = DeliveryPolicy(url, timeout_seconds=5, retry_base_seconds=10, retry_max_seconds=900)
        self.delivery = WebhookDelivery(policy, lambda: SECRET, self.repository, self.sender)
        self.event = CompletionEvent.for_image(RECOGNIZED, self.record.to_api(), self.record.owner)

    def deliver(self, attempt=1):
        return self.delivery.deliver(self.event, attempt)


def test_given_a_receiver_that_accepts_when_delivered_then_it_gets_one_signed_post_and_it_is_recorded():
    world = World(Reply(204))

    decision = world.deliver()

    assert (decision.action, decision.reason) == (DELIVERED, "HTTP 204")
    [post] = world.sender.posts
    assert (post.url, post.timeout_seconds) == (URL, 5)
    webhooks.verify(SECRET, post.headers, post.body)  # raises unless signed with the secret
    assert post.headers["webhook-id"] == world.event.id
    assert json.loads(post.body)["data"]["image_id"] == world.record.image_id
    assert world.repository.is_delivered(world.record.image_id)


def test_given_an_event_already_delivered_when_delivered_again_then_it_is_skipped_without_a_post():
    world = World()
    world.deliver()

    decision = world.deliver()

    assert (decision.action, decision.reason) == (SKIPPED, "already delivered")
    assert len(world.sender.posts) == 1


def test_given_no_webhook_url_when_delivered_then_it_is_skipped():
    world = World(url="")

    assert world.deliver().action == SKIPPED and world.sender.posts == []


def test_given_a_server_error_when_delivered_then_it_is_retried_later_and_not_recorded():
    world = World(Reply(500))

    decision = world.deliver(attempt=2)

    assert decision.action == RETRY and 10 <= decision.delay_seconds <= 20
    assert not world.repository.is_delivered(world.record.image_id)


def test_given_a_429_with_retry_after_when_delivered_then_the_retry_waits_at_least_that_long():
    assert World(Reply(429, retry_after="120")).deliver().delay_seconds == 120


def test_given_no_answer_when_delivered_then_it_is_retried_with_the_reason():
    decision = World(Reply(None, error="the receiver timed out")).deliver()

    assert (decision.action, decision.reason) == (RETRY, "the receiver timed out")


def test_given_a_refusal_when_delivered_then_it_is_permanent_and_not_recorded():
    world = World(Reply(410))

    assert world.deliver().action == PERMANENT
    assert not world.repository.is_delivered(world.record.image_id)


def test_given_the_delivery_cannot_be_recorded_when_delivered_then_it_still_counts_as_delivered():
    # The record is gone: marking fails, but the receiver has the event and must not get it twice.
    world = World(Reply(200))
    world.repository.delete(world.record.image_id)

    assert world.deliver().action == DELIVERED
