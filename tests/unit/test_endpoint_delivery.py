"""Fan-out to an owner's endpoints and delivery to one of them (lib/usecases/endpoint_delivery.py),
on in-memory fakes; the signatures are checked by the standardwebhooks and svix libraries."""

from __future__ import annotations

import time

import pytest
import standardwebhooks.webhooks as standard

from lib.domain.endpoints import EndpointMessage
from lib.domain.events import DELETED, FAILED, RECOGNIZED, CompletionEvent
from lib.ports import Reply
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, DeliveryPolicy
from lib.usecases.endpoint_delivery import EndpointDelivery, FanOut
from lib.usecases.subscriptions import Subscriptions
from tests.support.fakes import (
    FakeEndpointQueue,
    FakeEndpointTable,
    FakeEndpointUrlCheck,
    FakeSecretBox,
    FakeWebhookSender,
)

POLICY = DeliveryPolicy(url="", timeout_seconds=5, retry_base_seconds=10, retry_max_seconds=900)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self, *replies: Reply, refused: dict[str, str] | None = None):
        self.table, self.box, self.queue = FakeEndpointTable(), FakeSecretBox(), FakeEndpointQueue()
        self.clock = Clock()
        self.urls = FakeEndpointUrlCheck(refused)
        self.sender = FakeWebhookSender(*replies)
        self.subscriptions = Subscriptions(self.table, self.box, FakeEndpointUrlCheck(), self.queue, self.clock)
        self.fan_out = FanOut(self.table, self.table, self.queue)
        self.delivery = EndpointDelivery(POLICY, self.table, self.table, self.box, self.urls, self.sender, self.clock)

    def register(self, owner: str, url: str = "https://r.example/", **request):
        return self.subscriptions.register(owner, {"url": url, **request})


def event(owner: str = "alice", kind: str = RECOGNIZED, image_id: str = "a" * 32) -> CompletionEvent:
    return CompletionEvent.for_image(kind, {"image_id": image_id, "name": "cat.jpg", "status": "DONE"}, owner)


def test_one_message_per_matching_endpoint_of_the_events_owner_and_a_disabled_ones_is_skipped():
    world = World()
    healthy, _ = world.register("alice")
    failed_only, _ = world.register("alice", events=[FAILED])
    disabled, _ = world.register("alice")
    world.subscriptions.update("alice", disabled.endpoint_id, {"enabled": False})
    world.register("bob")
    queued = world.fan_out.fan_out(event(), claimer="sqs-message-1")
    assert queued == [healthy.endpoint_id, disabled.endpoint_id]
    assert [(m.owner, m.endpoint_id) for m in world.queue.sent] == [
        ("alice", healthy.endpoint_id),
        ("alice", disabled.endpoint_id),
    ]
    # The disabled endpoint's message says what it missed, and sends nothing.
    skipped = world.delivery.deliver(world.queue.sent[1], 1)
    assert skipped.action == SKIPPED and "disabled" in skipped.reason and world.sender.posts == []
    assert world.fan_out.fan_out(event(kind=FAILED, image_id="b" * 32), "sqs-message-2") == [
        healthy.endpoint_id,
        failed_only.endpoint_id,
        disabled.endpoint_id,
    ]


def test_a_second_copy_of_the_event_queues_nothing_twice_but_a_crash_before_the_send_loses_nothing():
    world = World()
    world.register("alice")
    assert len(world.fan_out.fan_out(event(), "copy-1")) == 1
    assert world.fan_out.fan_out(event(), "copy-2") == []  # SNS delivered the event twice
    assert world.fan_out.fan_out(event(), "copy-1") == []  # the stage's webhook retried the same message
    crashing = World()
    endpoint, _ = crashing.register("alice")
    crashing.table.claim("alice", endpoint.endpoint_id, event().id, "copy-1")  # claimed, never sent
    assert crashing.fan_out.fan_out(event(), "copy-1") == [endpoint.endpoint_id]


def test_a_claim_never_sent_is_queued_by_the_copy_that_carries_on_after_a_throttle_or_a_redrive():
    world = World()
    endpoint, _ = world.register("alice")
    # GIVEN a fan-out that claimed the event for the endpoint and was throttled before sending it
    world.table.claim("alice", endpoint.endpoint_id, event().id, "first-message")
    # WHEN the event comes back as another queue message (the throttle's re-queue, or a redrive)
    queued = world.fan_out.fan_out(event(), "requeued-message")
    # THEN that message queues it, and once sent no copy queues it again
    assert queued == [endpoint.endpoint_id]
    assert world.fan_out.fan_out(event(), "first-message") == []


def test_an_event_without_an_owner_goes_to_no_subscriber():
    world = World()
    world.register("")
    assert world.fan_out.fan_out(event(owner=""), "m") == []


def svix():
    # Imported when a signature is checked (0.3 s): every test process collects this module.
    import svix.webhooks

    return svix.webhooks


def verify_with_both_libraries(secret: str, post) -> None:
    standard.Webhook(secret).verify(post.body, post.headers)
    svix().Webhook(secret).verify(post.body, post.headers)


def refuses(secret: str, post) -> bool:
    for library in (standard, svix()):
        try:
            library.Webhook(secret).verify(post.body, post.headers)
        except Exception:  # each library raises its own verification error
            continue
        return False
    return True


def test_each_attempt_is_signed_at_send_time_with_the_same_webhook_id():
    world = World(Reply(503), Reply(204))
    endpoint, secret = world.register("alice")
    message = EndpointMessage(event(), "alice", endpoint.endpoint_id)
    now = world.clock.now
    world.clock.now = now - 400  # the first try was sent longer ago than receivers' 5-minute tolerance
    assert world.delivery.deliver(message, 1).action == RETRY
    world.clock.now = now
    assert world.delivery.deliver(message, 2).action == DELIVERED
    first, second = world.sender.posts
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message.event.id
    assert (int(first.headers["webhook-timestamp"]), int(second.headers["webhook-timestamp"])) == (
        int(now - 400),
        int(now),
    )
    assert refuses(secret, first)  # stale: a retry that reused it would be refused
    verify_with_both_libraries(secret, second)
    assert world.delivery.deliver(message, 3).action == SKIPPED  # recorded delivered for this endpoint


def test_during_a_rotation_overlap_both_secrets_verify_and_with_overlap_zero_only_the_new():
    world = World()
    endpoint, old = world.register("alice")
    _, new = world.subscriptions.rotate("alice", endpoint.endpoint_id, {"overlap_seconds": 3600})
    world.delivery.deliver(EndpointMessage(event(image_id="1" * 32), "alice", endpoint.endpoint_id), 1)
    post = world.sender.posts[-1]
    assert len(post.headers["webhook-signature"].split()) == 2
    verify_with_both_libraries(old, post)
    verify_with_both_libraries(new, post)
    _, newest = world.subscriptions.rotate("alice", endpoint.endpoint_id, {"overlap_seconds": 0})
    world.delivery.deliver(EndpointMessage(event(image_id="2" * 32), "alice", endpoint.endpoint_id), 1)
    post = world.sender.posts[-1]
    verify_with_both_libraries(newest, post)
    assert refuses(new, post) and refuses(old, post)


def test_a_410_disables_the_endpoint_with_its_reason_and_patch_turns_it_back_on():
    world = World(Reply(410))
    endpoint, _ = world.register("alice")
    decision = world.delivery.deliver(EndpointMessage(event(), "alice", endpoint.endpoint_id), 1)
    assert decision.action == PERMANENT
    stored = world.table.get("alice", endpoint.endpoint_id)
    assert not stored.enabled and "410" in stored.disabled_reason
    assert "410" in world.subscriptions.get("alice", endpoint.endpoint_id).to_api(0)["disabled_reason"]
    world.fan_out.fan_out(event(image_id="c" * 32), "m")
    assert world.delivery.deliver(world.queue.sent[-1], 1).action == SKIPPED  # while it is off
    world.subscriptions.update("alice", endpoint.endpoint_id, {"enabled": True})
    world.fan_out.fan_out(event(image_id="d" * 32), "m")
    assert world.delivery.deliver(world.queue.sent[-1], 1).action == DELIVERED


def test_retry_after_is_honored_as_for_the_stage_webhook():
    world = World(Reply(429, retry_after="120"))
    endpoint, _ = world.register("alice")
    decision = world.delivery.deliver(EndpointMessage(event(), "alice", endpoint.endpoint_id), 1)
    assert (decision.action, decision.delay_seconds) == (RETRY, 120)


def test_the_url_is_checked_again_at_delivery_and_a_refusal_sends_nothing():
    world = World(refused={"https://rebound.example/": "endpoint_url_not_public"})
    endpoint, _ = world.register("alice", url="https://rebound.example/")
    decision = world.delivery.deliver(EndpointMessage(event(), "alice", endpoint.endpoint_id), 1)
    assert decision.action == PERMANENT and "endpoint_url_not_public" in decision.reason
    assert world.sender.posts == []


def test_an_address_refused_at_connect_time_is_final():
    world = World(Reply(None, error="the endpoint's address is refused", refused=True))
    endpoint, _ = world.register("alice")
    assert world.delivery.deliver(EndpointMessage(event(), "alice", endpoint.endpoint_id), 1).action == PERMANENT


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda w, e: w.subscriptions.delete("alice", e), "deleted"),
        (lambda w, e: w.subscriptions.update("alice", e, {"enabled": False}), "disabled"),
        (lambda w, e: w.subscriptions.update("alice", e, {"events": [DELETED]}), "no longer subscribes"),
    ],
)
def test_a_message_for_an_endpoint_changed_since_the_fan_out_is_skipped(change, reason):
    world = World()
    endpoint, _ = world.register("alice")
    world.fan_out.fan_out(event(), "m")
    change(world, endpoint.endpoint_id)
    decision = world.delivery.deliver(world.queue.sent[0], 1)
    assert decision.action == SKIPPED and reason in decision.reason
    assert world.sender.posts == []


def test_a_test_event_goes_to_its_endpoint_whatever_its_filter():
    world = World()
    endpoint, secret = world.register("alice", events=[FAILED])
    world.subscriptions.send_test("alice", endpoint.endpoint_id)
    assert world.delivery.deliver(world.queue.sent[0], 1).action == DELIVERED
    verify_with_both_libraries(secret, world.sender.posts[0])


def test_the_message_survives_the_queue():
    message = EndpointMessage(event(), "alice", "ep_" + "a" * 20)
    assert EndpointMessage.from_message(message.to_message()) == message


def test_a_message_handed_out_twice_at_once_is_sent_by_one_attempt_only():
    world = World(Reply(503))
    endpoint, _ = world.register("alice")
    message = EndpointMessage(event(), "alice", endpoint.endpoint_id)
    # GIVEN another invocation holds the send lease of this (event, endpoint)
    assert world.table.begin_send("alice", endpoint.endpoint_id, message.event.id, 60)
    # WHEN the same message is processed alongside it THEN nothing is POSTed; it is tried again later
    decision = world.delivery.deliver(message, 1)
    assert decision.action == RETRY and "another attempt" in decision.reason
    assert world.sender.posts == []
    # AND once the first gives the lease back after a failed try, the next try sends
    world.table.end_send("alice", endpoint.endpoint_id, message.event.id)
    assert world.delivery.deliver(message, 2).action == RETRY  # the receiver's 503
    assert world.delivery.deliver(message, 3).action == DELIVERED  # the lease was given back after the 503
    assert len(world.sender.posts) == 2
