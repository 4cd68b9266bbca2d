"""The delivery log on moto (lib/adapters/delivery_log_table.py): newest first through the
`delivery-log` index, the status filter and cursor, idempotent writes, the TTL, no Scan; and a
replay's generation sent once even when delivered before."""

from __future__ import annotations

import time

import pytest

from lib.adapters import delivery_log_table
from lib.adapters.delivery_log_table import DeliveryLogTable
from lib.adapters.endpoint_records import EndpointTable
from lib.domain.delivery_log import (
    DELIVERED,
    FAILED,
    LOG_SECONDS,
    PENDING,
    SKIPPED,
    Attempt,
    QueuedEntry,
    RecordedAttempt,
)
from lib.domain.events import RECOGNIZED, CompletionEvent

ALICE, BOB, ENDPOINT, OTHER = "alice", "bob", "ep_aaaaaaaaaaaaaaaaaaaa", "ep_bbbbbbbbbbbbbbbbbbbb"


class Calls:
    """The DynamoDB operations a client made, by name."""

    def __init__(self, client):
        self.names: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", self._seen)

    def _seen(self, model, **_):
        self.names.append(model.name)


@pytest.fixture
def dynamodb(aws):
    return aws.fresh_client("dynamodb")


@pytest.fixture
def log(aws, dynamodb):
    return DeliveryLogTable(aws.ref("WebhooksTable"), dynamodb=lambda: dynamodb)


def event(n: int) -> CompletionEvent:
    return CompletionEvent(id=f"msg_{n:032x}", type=RECOGNIZED, timestamp="2026-01-01T00:00:00.000000Z", data={})


def at(second: int) -> str:
    return f"2026-01-01T00:00:{second:02d}.000000Z"


def attempt(key: str, status: str, code: int | None, second: int, retry: str | None = None) -> RecordedAttempt:
    error = None if status == DELIVERED else f"HTTP {code}"
    return RecordedAttempt(key, Attempt(at(second), code, 12.5, error), status, retry, None)


def test_the_log_lists_newest_first_filters_by_status_and_pages_without_a_scan(log, dynamodb):
    calls = Calls(dynamodb)
    for n in range(5):
        log.record_queued(ALICE, ENDPOINT, event(n), at(n))
    log.record_queued(ALICE, OTHER, event(9), at(9))  # another endpoint's
    log.record_queued(BOB, ENDPOINT, event(8), at(8))  # another owner's
    log.record_attempt(ALICE, ENDPOINT, event(1), attempt("first:1:1", FAILED, 500, 20, retry=at(30)))
    log.record_attempt(ALICE, ENDPOINT, event(3), attempt("first:1:3", FAILED, 500, 21))

    entries, position = log.page(ALICE, ENDPOINT, None, 3, None)
    assert [e.webhook_id for e in entries] == [event(n).id for n in (4, 3, 2)] and position
    rest, end = log.page(ALICE, ENDPOINT, None, 3, position)
    assert [e.webhook_id for e in rest] == [event(n).id for n in (1, 0)] and end is None

    failed, _ = log.page(ALICE, ENDPOINT, FAILED, 10, None)
    assert [(e.webhook_id, e.next_retry_at) for e in failed] == [(event(3).id, None), (event(1).id, at(30))]
    assert [e.status for e in log.page(ALICE, ENDPOINT, PENDING, 10, None)[0]] == [PENDING] * 3
    assert log.page(ALICE, OTHER, None, 10, None)[0][0].webhook_id == event(9).id
    assert "Scan" not in calls.names and "Query" in calls.names


def test_writes_are_idempotent_and_the_entry_keeps_its_payload_and_ttl(aws, log, dynamodb):
    log.record_queued(ALICE, ENDPOINT, event(1), at(1))
    log.record_queued(ALICE, ENDPOINT, event(1), at(5))  # the fan-out processed again: one entry, first time kept
    first = attempt("first:1:1000", FAILED, 503, 2, retry=at(12))
    log.record_attempt(ALICE, ENDPOINT, event(1), first)
    log.record_attempt(ALICE, ENDPOINT, event(1), first)  # a retried write that had landed
    log.record_attempt(ALICE, ENDPOINT, event(1), attempt("first:2:2000", DELIVERED, 204, 12))

    [entry] = log.page(ALICE, ENDPOINT, None, 10, None)[0]
    assert (entry.status, entry.created_at, entry.next_retry_at, entry.event) == (DELIVERED, at(1), None, event(1))
    assert [(a.status_code, a.error) for a in entry.attempts] == [(503, "HTTP 503"), (204, None)]
    assert entry.to_api()["attempts"][0] == {
        "at": at(2),
        "status_code": 503,
        "duration_ms": 12.5,
        "error": "HTTP 503",
        "replay": False,
    }
    # A copy of the delivered message, skipped later (the endpoint disabled), leaves it delivered.
    log.record_skipped(ALICE, ENDPOINT, event(1), "the endpoint is disabled", at(20))
    assert log.get(ALICE, ENDPOINT, event(1).id).status == DELIVERED

    item = dynamodb.get_item(
        TableName=aws.ref("WebhooksTable"),
        Key={"pk": {"S": "OWNER#alice"}, "sk": {"S": f"DELIVERY#{ENDPOINT}#{event(1).id}"}},
    )["Item"]
    assert abs(int(item["ttl"]["N"]) - (time.time() + LOG_SECONDS)) < 60


def test_replayable_since_is_failed_or_skipped_oldest_first_and_bounded(log):
    for n, status in enumerate((FAILED, SKIPPED, DELIVERED, FAILED, FAILED)):
        log.record_queued(ALICE, ENDPOINT, event(n), at(n))
        if status == SKIPPED:
            log.record_skipped(ALICE, ENDPOINT, event(n), "the endpoint is disabled", at(n))
        elif status:
            code = 204 if status == DELIVERED else 500
            log.record_attempt(ALICE, ENDPOINT, event(n), attempt(f"k{n}", status, code, n))
    since = log.replayable_since(ALICE, ENDPOINT, at(1), 1000)
    assert [e.webhook_id for e in since] == [event(n).id for n in (1, 3, 4)]
    assert [e.webhook_id for e in log.replayable_since(ALICE, ENDPOINT, at(1), 2)] == [event(1).id, event(3).id]
    assert log.replayable_since(BOB, ENDPOINT, at(0), 1000) == []


def test_a_replay_is_sent_once_per_generation_and_supersedes_the_first_sending(aws, log, dynamodb):
    table = EndpointTable(aws.ref("WebhooksTable"), dynamodb=lambda: dynamodb)
    wid = event(1).id
    assert table.claim(ALICE, ENDPOINT, wid, "m1")
    log.record_queued(ALICE, ENDPOINT, event(1), at(1))
    table.mark_sent(ALICE, ENDPOINT, wid)
    assert table.begin_send(ALICE, ENDPOINT, wid, 60)
    table.mark_delivered(ALICE, ENDPOINT, wid)
    assert not table.begin_send(ALICE, ENDPOINT, wid, 60)

    assert log.begin_replay(ALICE, ENDPOINT, wid, "rp_1", at(9))
    assert log.get(ALICE, ENDPOINT, wid).status == PENDING
    assert not log.begin_replay(ALICE, ENDPOINT, event(7).id, "rp_1", at(9))  # not in the log
    # The replay is sent although the message was delivered; a copy of it is not.
    assert table.begin_send(ALICE, ENDPOINT, wid, 60, "rp_1")
    table.mark_delivered(ALICE, ENDPOINT, wid, "rp_1")
    assert table.is_delivered(ALICE, ENDPOINT, wid, "rp_1")
    assert not table.begin_send(ALICE, ENDPOINT, wid, 60, "rp_1")
    # A late retry of the first sending sends nothing beside the replay, nor does an older replay.
    assert not table.begin_send(ALICE, ENDPOINT, wid, 60) and table.is_delivered(ALICE, ENDPOINT, wid)
    assert log.begin_replay(ALICE, ENDPOINT, wid, "rp_2", at(10))
    assert not table.begin_send(ALICE, ENDPOINT, wid, 60, "rp_1") and table.is_delivered(ALICE, ENDPOINT, wid, "rp_1")
    assert table.begin_send(ALICE, ENDPOINT, wid, 60, "rp_2")
    # The claim, made again, keeps the log entry it finds (an update, not a put).
    assert not table.claim(ALICE, ENDPOINT, wid, "m2")
    assert log.get(ALICE, ENDPOINT, wid).event == event(1)


def test_a_filtered_page_that_reads_its_budget_comes_back_short_with_a_position_to_go_on(log, monkeypatch):
    monkeypatch.setattr(delivery_log_table, "MAX_READ_PER_PAGE", 3)
    log.record_queued(ALICE, ENDPOINT, event(0), at(0))
    log.record_attempt(ALICE, ENDPOINT, event(0), attempt("k0", FAILED, 500, 0))
    for n in range(1, 7):
        log.record_queued(ALICE, ENDPOINT, event(n), at(n))
    found, position = log.page(ALICE, ENDPOINT, FAILED, 5, None)
    assert found == [] and position
    while position and not found:  # each request reads at most 3 entries of the index
        found, position = log.page(ALICE, ENDPOINT, FAILED, 5, position)
    assert [e.webhook_id for e in found] == [event(0).id] and position is None


def test_the_fan_out_claim_opens_the_entry_in_its_own_write_and_a_claim_again_keeps_it(aws, log, dynamodb):
    table = EndpointTable(aws.ref("WebhooksTable"), dynamodb=lambda: dynamodb)
    calls = Calls(dynamodb)
    wid = event(1).id
    # WHEN the fan-out claims the message with its entry: one write opens both
    assert table.claim(ALICE, ENDPOINT, wid, "m1", QueuedEntry(event(1), at(1)))
    assert calls.names == ["UpdateItem"]
    # THEN the log lists it pending, queued then, with the event a replay would send
    [entry] = log.page(ALICE, ENDPOINT, None, 10, None)[0]
    assert (entry.webhook_id, entry.status, entry.created_at, entry.event) == (wid, PENDING, at(1), event(1))
    # AND the same message processed again before it was sent keeps the entry as it was
    log.record_attempt(ALICE, ENDPOINT, event(1), attempt("first:1:5", FAILED, 500, 5, retry=at(9)))
    assert table.claim(ALICE, ENDPOINT, wid, "m1", QueuedEntry(event(1), at(7)))
    [entry] = log.page(ALICE, ENDPOINT, None, 10, None)[0]
    assert (entry.status, entry.created_at, len(entry.attempts)) == (FAILED, at(1), 1)
    # AND once it is sent, a claim is refused and writes nothing, the entry included
    table.mark_sent(ALICE, ENDPOINT, wid)
    assert not table.claim(ALICE, ENDPOINT, wid, "m2", QueuedEntry(event(1), at(8)))
    assert log.get(ALICE, ENDPOINT, wid).created_at == at(1)
    # AND a claim without an entry (no log kept) opens none
    assert table.claim(ALICE, ENDPOINT, event(2).id, "m3")
    assert log.get(ALICE, ENDPOINT, event(2).id) is None
