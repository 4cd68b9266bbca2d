"""The delivery log and replay on in-memory fakes: what the fan-out, a test and each attempt record,
that a log that cannot be written never fails a delivery, the cursor bound to its listing, and a
replay sent once with its original webhook-id although the message was delivered before."""

from __future__ import annotations

import json
import time

import pytest

from lib.domain.delivery_log import DELIVERED, FAILED, PENDING, SKIPPED, LogQuery, ReplayRequest
from lib.domain.endpoints import EndpointMessage
from lib.domain.errors import EndpointDisabled, InvalidRequest, NotFound
from lib.domain.events import RECOGNIZED, CompletionEvent
from lib.ports import Reply
from lib.usecases import delivery
from lib.usecases.delivery import DeliveryPolicy
from lib.usecases.delivery_log import DeliveryLogPages, utc_at
from lib.usecases.endpoint_delivery import EndpointDelivery, FanOut
from lib.usecases.replay import Replays
from lib.usecases.subscriptions import Subscriptions
from tests.support.fakes import (
    FakeDeliveryLog,
    FakeEndpointQueue,
    FakeEndpointTable,
    FakeEndpointUrlCheck,
    FakeSecretBox,
    FakeWebhookSender,
)

POLICY = DeliveryPolicy(url="", timeout_seconds=5, retry_base_seconds=10, retry_max_seconds=900)


class World:
    def __init__(self, *replies: Reply, log_fails: bool = False):
        self.table, self.queue = FakeEndpointTable(), FakeEndpointQueue()
        self.log = FakeDeliveryLog(self.table, failing=log_fails)
        self.now = time.time()
        self.sender = FakeWebhookSender(*replies)
        box, urls = FakeSecretBox(), FakeEndpointUrlCheck()
        self.subscriptions = Subscriptions(self.table, box, urls, self.queue, log=self.log)
        self.fan_out = FanOut(self.table, self.table, self.queue, self.log)
        self.delivery = EndpointDelivery(
            POLICY, self.table, self.table, box, urls, self.sender, lambda: self.now, log=self.log, max_attempts=3
        )
        self.pages = DeliveryLogPages(self.table, self.log)
        self.replays = Replays(self.table, self.log, self.queue)

    def endpoint(self, owner: str = "alice") -> str:
        return self.subscriptions.register(owner, {"url": "https://r.example/"})[0].endpoint_id

    def entries(self, owner: str, endpoint_id: str, **query) -> list[dict]:
        parameters = {k: str(v) for k, v in query.items()}
        return [e.to_api() for e in self.pages.page(owner, endpoint_id, LogQuery.parse(parameters))[0]]

    def deliver_queued(self, attempt: int = 1) -> list[str]:
        """Delivers every queued message once, as the queue hands them out; the decisions' actions."""
        sent, self.queue.sent = self.queue.sent, []
        return [self.delivery.deliver(EndpointMessage.from_message(m.to_message()), attempt).action for m in sent]


def event(image_id: str = "a" * 32) -> CompletionEvent:
    return CompletionEvent.for_image(RECOGNIZED, {"image_id": image_id, "status": "DONE"}, "alice")


def test_each_queued_message_and_each_attempt_is_logged_with_the_state_after_it():
    world = World(Reply(500), Reply(503, retry_after="30"), Reply(500))
    endpoint_id = world.endpoint()
    world.fan_out.fan_out(event(), "m1")
    assert [(e["status"], e["attempts"]) for e in world.entries("alice", endpoint_id)] == [(PENDING, [])]
    world.fan_out.fan_out(event(), "m1")  # the same message processed again: still one entry
    assert len(world.entries("alice", endpoint_id)) == 1

    message = world.queue.sent[0]
    world.delivery.deliver(message, 1)
    [entry] = world.entries("alice", endpoint_id)
    assert (entry["status"], entry["attempts"][0]["status_code"], entry["attempts"][0]["error"]) == (
        FAILED,
        500,
        "HTTP 500",
    )
    assert entry["next_retry_at"] is not None and "reason" not in entry
    world.delivery.deliver(message, 2)
    [entry] = world.entries("alice", endpoint_id)
    # Retry-After 30 honored: the next retry is 30 s after the attempt.
    assert entry["next_retry_at"] == utc_at(world.now + 30)
    world.delivery.deliver(message, 3)  # the last try the queue gives: no retry is scheduled
    [entry] = world.entries("alice", endpoint_id)
    assert (entry["status"], entry["next_retry_at"], entry["reason"]) == (FAILED, None, "HTTP 500")
    assert [a["status_code"] for a in entry["attempts"]] == [500, 503, 500]


def test_a_delivery_and_a_test_message_are_logged_and_a_skip_says_why():
    world = World()
    endpoint_id = world.endpoint()
    test = world.subscriptions.send_test("alice", endpoint_id)
    world.fan_out.fan_out(event(), "m1")
    assert world.deliver_queued() == [delivery.DELIVERED, delivery.DELIVERED]
    entries = world.entries("alice", endpoint_id)
    assert {e["webhook_id"]: e["status"] for e in entries} == {test.id: DELIVERED, event().id: DELIVERED}
    assert all(e["attempts"][0]["status_code"] == 204 and e["attempts"][0]["error"] is None for e in entries)

    world.subscriptions.update("alice", endpoint_id, {"enabled": False})
    world.fan_out.fan_out(event("b" * 32), "m2")  # an event arriving while it is disabled is queued, then skipped
    assert world.deliver_queued() == [delivery.SKIPPED]
    [skipped] = world.entries("alice", endpoint_id, status=SKIPPED)
    assert (skipped["webhook_id"], skipped["reason"], skipped["attempts"]) == (
        event("b" * 32).id,
        "the endpoint is disabled",
        [],
    )


class BrokenLog(FakeDeliveryLog):
    """A log whose writes fail with a fault of its own, not a reported error."""

    def _entry(self, *args):
        raise KeyError("log_pk")


@pytest.mark.parametrize("broken", [False, True])
def test_a_log_that_cannot_be_written_never_fails_or_repeats_a_delivery(broken):
    world = World(log_fails=True)
    if broken:
        world = World()
        broken_log = BrokenLog(world.table)
        world.fan_out.recorder.log = world.subscriptions.recorder.log = world.delivery.recorder.log = broken_log
    endpoint_id = world.endpoint()
    assert world.fan_out.fan_out(event(), "m1") == [endpoint_id]
    assert world.subscriptions.send_test("alice", endpoint_id)
    assert world.deliver_queued() == [delivery.DELIVERED, delivery.DELIVERED]
    assert len(world.sender.posts) == 2


def test_the_log_pages_newest_first_and_its_cursor_is_bound_to_owner_endpoint_and_filter():
    world = World()
    endpoint_id, other = world.endpoint(), world.endpoint()
    for n in range(5):
        world.log.record_queued("alice", endpoint_id, event(f"{n:032x}"), f"2026-01-01T00:00:0{n}.000000Z")
    body = world.pages.page("alice", endpoint_id, LogQuery.parse({"limit": "2"}))
    assert [e.webhook_id for e in body[0]] == [event(f"{n:032x}").id for n in (4, 3)] and body[1]
    following = world.pages.page("alice", endpoint_id, LogQuery.parse({"limit": "2", "cursor": body[1]}))
    assert [e.webhook_id for e in following[0]] == [event(f"{n:032x}").id for n in (2, 1)]
    for owner, endpoint, query in (
        ("alice", other, {"cursor": body[1]}),
        ("alice", endpoint_id, {"cursor": body[1], "status": PENDING}),
        ("alice", endpoint_id, {"cursor": "not-a-cursor"}),
    ):
        with pytest.raises(InvalidRequest):
            world.pages.page(owner, endpoint, LogQuery.parse(query))
    with pytest.raises(NotFound):  # another owner's endpoint is not found, as a missing one
        world.pages.page("bob", endpoint_id, LogQuery.parse({}))


@pytest.mark.parametrize(
    "query", [{"status": "lost"}, {"status": ""}, {"limit": "0"}, {"limit": "101"}, {"limit": ""}, {"limit": "1.5"}]
)
def test_a_bad_query_is_refused(query):
    with pytest.raises(InvalidRequest):
        LogQuery.parse(query)


@pytest.mark.parametrize(
    "body",
    [{}, {"webhook_id": "msg_1", "since": "2026-01-01T00:00:00Z"}, {"webhook_id": 1}, {"since": "yesterday"}, []],
)
def test_a_replay_body_is_exactly_one_of_webhook_id_or_since(body):
    with pytest.raises(InvalidRequest):
        ReplayRequest.parse(body)


def test_since_compares_as_a_time_whatever_its_decimals():
    assert ReplayRequest.parse({"since": "2026-01-01T00:00:05Z"}).since == "2026-01-01T00:00:05.000000Z"
    assert ReplayRequest.parse({"since": "2026-01-01T00:00:05.5Z"}).since == "2026-01-01T00:00:05.500000Z"


def test_a_replay_is_sent_with_its_webhook_id_even_if_delivered_and_a_copy_of_it_only_once():
    world = World()
    endpoint_id = world.endpoint()
    world.fan_out.fan_out(event(), "m1")
    original = world.queue.sent[0]
    assert world.deliver_queued() == [delivery.DELIVERED]

    replayed = world.replays.replay("alice", endpoint_id, ReplayRequest(event().id, None))
    assert replayed == [event().id]
    assert world.entries("alice", endpoint_id)[0]["status"] == PENDING
    replay_message = world.queue.sent[0]
    assert replay_message.replay and replay_message.event == original.event
    world.queue.sent.append(replay_message)  # the queue hands the replay out twice
    world.queue.sent.append(original)  # and a late copy of the first sending comes too
    assert world.deliver_queued() == [delivery.DELIVERED, delivery.SKIPPED, delivery.SKIPPED]
    assert [p.headers["webhook-id"] for p in world.sender.posts] == [event().id, event().id]
    [entry] = world.entries("alice", endpoint_id)
    assert entry["status"] == DELIVERED and [a["replay"] for a in entry["attempts"]] == [False, True]


def test_replay_since_resends_only_what_failed_or_was_skipped_and_refuses_a_disabled_endpoint():
    world = World(Reply(500))
    endpoint_id = world.endpoint()
    world.fan_out.fan_out(event("1" * 32), "m1")
    world.fan_out.fan_out(event("2" * 32), "m2")
    assert sorted(world.deliver_queued(attempt=3)) == [delivery.DELIVERED, delivery.RETRY]
    [failed] = world.entries("alice", endpoint_id, status=FAILED)
    replayed = world.replays.replay("alice", endpoint_id, ReplayRequest(None, "2000-01-01T00:00:00.000000Z"))
    assert replayed == [failed["webhook_id"]]
    assert [json.loads(m.to_message())["event"]["id"] for m in world.queue.sent] == replayed
    assert world.replays.replay("alice", endpoint_id, ReplayRequest(None, "2999-01-01T00:00:00.000000Z")) == []
    with pytest.raises(NotFound):
        world.replays.replay("alice", endpoint_id, ReplayRequest("msg_unknown", None))
    with pytest.raises(NotFound):
        world.replays.replay("bob", endpoint_id, ReplayRequest(failed["webhook_id"], None))
    world.subscriptions.update("alice", endpoint_id, {"enabled": False})
    with pytest.raises(EndpointDisabled):
        world.replays.replay("alice", endpoint_id, ReplayRequest(failed["webhook_id"], None))


def test_replay_since_stops_at_its_time_budget_and_the_same_request_picks_up_the_rest():
    world = World(Reply(500), Reply(500))
    endpoint_id = world.endpoint()
    world.fan_out.fan_out(event("1" * 32), "m1")
    world.fan_out.fan_out(event("2" * 32), "m2")
    world.deliver_queued(attempt=3)
    since = ReplayRequest(None, "2000-01-01T00:00:00.000000Z")
    out_of_time = Replays(world.table, world.log, world.queue, budget_seconds=0)
    assert out_of_time.replay("alice", endpoint_id, since) == []
    assert len(world.replays.replay("alice", endpoint_id, since)) == 2
    assert world.replays.replay("alice", endpoint_id, since) == []  # pending now: not replayed twice


def test_the_fan_out_opens_each_entry_with_its_claim_not_with_a_log_write_of_its_own():
    world = World()
    endpoint_id = world.endpoint()
    written = []
    world.log.record_queued = lambda *args: written.append(args)  # type: ignore[method-assign]
    world.fan_out.fan_out(event(), "m1")
    assert written == []
    assert [(e["webhook_id"], e["status"]) for e in world.entries("alice", endpoint_id)] == [(event().id, PENDING)]
    # Without a log, the claim opens no entry.
    FanOut(world.table, world.table, world.queue).fan_out(event("c" * 32), "m2")
    assert [e["webhook_id"] for e in world.entries("alice", endpoint_id)] == [event().id]
