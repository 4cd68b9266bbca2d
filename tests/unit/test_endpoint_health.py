"""Auto-disable (lib/usecases/endpoint_health.py, lib/domain/endpoint_health.py): an endpoint whose
attempts have all failed for the span is disabled, with the reason; a success, or turning it back
on, starts its failing spell afresh. On in-memory fakes, with a clock the tests move."""

from __future__ import annotations

import pytest

from lib.config import DeliverConfig
from lib.domain.endpoint_health import (
    DEFAULT_DISABLE_AFTER_SECONDS,
    describe_span,
    failing_too_long,
)
from lib.domain.endpoints import EndpointMessage
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.domain.model import utc_at
from lib.ports import Reply
from lib.usecases.delivery import DELIVERED, PERMANENT, RETRY, SKIPPED, DeliveryPolicy
from lib.usecases.endpoint_delivery import EndpointDelivery
from lib.usecases.endpoint_health import EndpointHealth
from lib.usecases.subscriptions import Subscriptions
from local import topology
from local.errors import StackError
from local.stack_options import StackOptions
from tests.support.fakes import (
    FakeEndpointQueue,
    FakeEndpointTable,
    FakeEndpointUrlCheck,
    FakeSecretBox,
    FakeWebhookSender,
)

POLICY = DeliveryPolicy(url="", timeout_seconds=5, retry_base_seconds=10, retry_max_seconds=900)
SPAN = 3600
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class World:
    """One owner's endpoint, a receiver answering `replies` in turn (then 204), and a clock."""

    def __init__(self, *replies: Reply):
        self.table, self.clock = FakeEndpointTable(), Clock()
        self.sender = FakeWebhookSender(*replies)
        self.subscriptions = Subscriptions(
            self.table, FakeSecretBox(), FakeEndpointUrlCheck(), FakeEndpointQueue(), self.clock
        )
        self.delivery = EndpointDelivery(
            POLICY,
            self.table,
            self.table,
            FakeSecretBox(),
            FakeEndpointUrlCheck(),
            self.sender,
            self.clock,
            disable_after_seconds=SPAN,
        )
        self.endpoint, _ = self.subscriptions.register("alice", {"url": "https://r.example/"})
        self.sent = 0

    def attempt_at(self, seconds_after_t0: float):
        """A new event's first attempt at T0 + the given seconds."""
        self.clock.now = T0 + seconds_after_t0
        self.sent += 1
        event = CompletionEvent.for_image(RECOGNIZED, {"image_id": f"{self.sent:032x}", "status": "DONE"}, "alice")
        return self.delivery.deliver(EndpointMessage(event, "alice", self.endpoint.endpoint_id), 1)

    def stored(self):
        return self.table.get("alice", self.endpoint.endpoint_id)


def failing(count: int) -> list[Reply]:
    return [Reply(500)] * count


def test_an_endpoint_failing_for_the_whole_span_is_disabled_with_what_failed_since_when():
    world = World(*failing(4))
    # GIVEN its first failure at T0
    assert world.attempt_at(0).action == RETRY
    assert world.stored().failing_since == utc_at(T0)
    assert world.subscriptions.get("alice", world.endpoint.endpoint_id).to_api(T0)["failing_since"] == utc_at(T0)
    # WHEN it keeps failing, short of the span THEN it stays enabled and its start stays T0
    assert world.attempt_at(SPAN - 1).action == RETRY
    assert world.stored().enabled and world.stored().failing_since == utc_at(T0)
    # WHEN it fails once the span is over THEN that attempt disables it, for good for this message
    decision = world.attempt_at(SPAN)
    assert (decision.action, decision.endpoint_disabled) == (PERMANENT, "failing")
    stored = world.stored()
    assert not stored.enabled and stored.disabled_reason == decision.reason
    for part in (utc_at(T0), "HTTP 500", "1 hour", "PATCH enabled: true"):
        assert part in stored.disabled_reason, stored.disabled_reason
    shown = world.subscriptions.get("alice", world.endpoint.endpoint_id).to_api(T0 + SPAN)
    assert shown["enabled"] is False and shown["disabled_reason"] == stored.disabled_reason
    # AND a message arriving afterwards is skipped: nothing is POSTed
    posts = len(world.sender.posts)
    skipped = world.attempt_at(SPAN + 1)
    assert skipped.action == SKIPPED and "disabled" in skipped.reason
    assert len(world.sender.posts) == posts


def test_a_success_in_between_starts_the_span_again():
    world = World(Reply(500), Reply(204), Reply(503), Reply(500))
    world.attempt_at(0)
    assert world.attempt_at(SPAN / 2).action == DELIVERED
    assert world.stored().failing_since == ""
    assert "failing_since" not in world.subscriptions.get("alice", world.endpoint.endpoint_id).to_api(T0)
    assert world.attempt_at(SPAN).action == RETRY  # failing again from here, not from T0
    assert world.stored().failing_since == utc_at(T0 + SPAN)
    assert world.attempt_at(2 * SPAN - 1).action == RETRY
    assert world.stored().enabled


def test_turning_it_back_on_clears_its_failing_spell_so_the_next_failure_does_not_disable_it_again():
    world = World(*failing(3))
    world.attempt_at(0)
    world.attempt_at(SPAN)
    assert not world.stored().enabled
    world.subscriptions.update("alice", world.endpoint.endpoint_id, {"enabled": True})
    assert world.stored().enabled and world.stored().failing_since == "" and world.stored().disabled_reason == ""
    assert world.attempt_at(SPAN + 10).action == RETRY
    assert world.stored().enabled and world.stored().failing_since == utc_at(T0 + SPAN + 10)


def test_a_new_url_is_a_new_receiver_and_is_not_failing_yet():
    world = World(Reply(500))
    world.attempt_at(0)
    world.subscriptions.update("alice", world.endpoint.endpoint_id, {"description": "same receiver"})
    assert world.stored().failing_since == utc_at(T0)
    world.subscriptions.update("alice", world.endpoint.endpoint_id, {"url": "https://other.example/"})
    assert world.stored().failing_since == ""


def test_a_410_says_its_attempt_disabled_the_endpoint():
    world = World(Reply(410))
    decision = world.attempt_at(0)
    assert (decision.action, decision.endpoint_disabled) == (PERMANENT, "gone") and not world.stored().enabled


def test_attempts_failing_at_once_disable_the_endpoint_once():
    world = World()
    health = EndpointHealth(world.table, SPAN, world.clock)
    failure = World(Reply(500)).attempt_at(0)  # a RETRY decision, as a failed attempt makes
    endpoint = world.endpoint
    world.clock.now = T0
    assert health.failed(endpoint, failure) == failure
    world.clock.now = T0 + SPAN
    # Both attempts read the endpoint enabled before either wrote: only the first write disables it.
    first, second = health.failed(endpoint, failure), health.failed(endpoint, failure)
    assert (first.endpoint_disabled, second.endpoint_disabled) == ("failing", "")
    assert second == failure


def test_a_success_does_not_clear_a_failing_spell_that_began_after_it():
    world = World()
    world.table.mark_failing("alice", world.endpoint.endpoint_id, utc_at(T0 + 5))
    world.table.mark_healthy("alice", world.endpoint.endpoint_id, utc_at(T0))  # answered before that failure
    assert world.stored().failing_since == utc_at(T0 + 5)
    world.table.mark_healthy("alice", world.endpoint.endpoint_id, utc_at(T0 + 6))
    assert world.stored().failing_since == ""


@pytest.mark.parametrize(
    "seconds, text",
    [(432000, "5 days"), (86400, "1 day"), (7200, "2 hours"), (60, "1 minute"), (3, "3 seconds"), (90, "90 seconds")],
)
def test_the_span_reads_as_people_say_it(seconds, text):
    assert describe_span(seconds) == text


def test_failing_too_long_needs_a_start_and_the_whole_span():
    assert not failing_too_long("", T0 + 10 * SPAN, SPAN)
    assert not failing_too_long("not a time", T0 + 10 * SPAN, SPAN)
    assert not failing_too_long(utc_at(T0), T0 + SPAN - 0.5, SPAN)
    assert failing_too_long(utc_at(T0), T0 + SPAN, SPAN)


def test_the_span_is_five_days_unless_the_stage_sets_it_in_seconds():
    base = {"IMAGES_TABLE": "t", "INTEGRATION_QUEUE_URL": "q", "INTEGRATION_DLQ_URL": "d"}
    assert DeliverConfig.from_env(base).disable_after_seconds == DEFAULT_DISABLE_AFTER_SECONDS == 432000
    assert DeliverConfig.from_env({**base, "WEBHOOK_DISABLE_AFTER_SECONDS": "3"}).disable_after_seconds == 3


def deliver_environment(options: StackOptions) -> dict:
    system = topology.load("local", params=options.stage_params(), env={})
    [deliver] = [f for f in system.functions if f.name == "deliver"]
    return deliver.environment


def test_the_local_stack_sets_the_span_as_the_stage_parameter_without_editing_serverless_yml():
    assert deliver_environment(StackOptions.from_env({}))["WEBHOOK_DISABLE_AFTER_SECONDS"] == "432000"
    options = StackOptions.from_env({"WEBHOOK_DISABLE_AFTER_SECONDS": "3"})
    assert options.stage_params()["webhookDisableAfterSeconds"] == "3"
    assert deliver_environment(options)["WEBHOOK_DISABLE_AFTER_SECONDS"] == "3"
    for bad in ("0", "soon"):
        with pytest.raises(StackError):
            StackOptions.from_env({"WEBHOOK_DISABLE_AFTER_SECONDS": bad})
