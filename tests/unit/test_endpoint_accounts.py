"""Per-endpoint accounting after a chaos or burst run (local/chaos/endpoint_accounts.py)."""

from datetime import UTC, datetime

from local.chaos.endpoint_accounts import (
    EndpointFigures,
    accepted_ids,
    account,
    first_gone_at,
    skipped_ids,
    throughput,
)
from local.observability.logs import line_ms

IDS = ["msg_1", "msg_2", "msg_3", "msg_4"]
GONE = "ep_gone"
OTHER = "ep_other"
# 2026-12-07 10:00:00 UTC, and the same instant as Powertools writes it.
GONE_AT = 1796637600.0


def stamp(seconds_after_gone: float) -> str:
    at = datetime.fromtimestamp(GONE_AT + seconds_after_gone, tz=UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S,") + f"{at.microsecond // 1000:03d}+0000"


def fanned_out(webhook_id, endpoint_ids, seconds_after_gone):
    return {
        "message": "queued for the owner's endpoints",
        "webhook_id": webhook_id,
        "endpoint_ids": endpoint_ids,
        "timestamp": stamp(seconds_after_gone),
    }


def received(webhook_id, status, at=GONE_AT):
    return {"headers": {"webhook-id": webhook_id}, "status": status, "received_at": at}


def test_each_event_lands_in_one_column_and_a_second_acceptance_is_a_duplicate():
    # GIVEN one event accepted twice, one dead-lettered, one with evidence of a skip, one nowhere
    accepted = accepted_ids([received("msg_1", 204), received("msg_1", 200), received("msg_2", 500)])

    # WHEN the endpoint is accounted for
    figures = account("e", "healthy", IDS, accepted, dead_lettered={"msg_2"}, skipped={"msg_3"})

    # THEN each event is counted once, in the first column that holds it
    assert (figures.delivered, figures.in_dlq, figures.skipped, figures.lost, figures.duplicates) == (1, 1, 1, 1, 1)
    assert figures.total == 4


def test_an_answer_given_after_the_sender_hung_up_is_not_an_acceptance():
    # GIVEN a 204 the sender had timed out on, then the retry's 204 that it waited for
    late = {**received("msg_1", 204), "sender_gone": True}
    accepted = accepted_ids([late, received("msg_1", 204), {**received("msg_2", 204), "sender_gone": True}])

    # THEN msg_1 was accepted once, no duplicate; msg_2's only answer never reached its sender
    assert accepted == {"msg_1": 1}
    figures = account("e", "slow", ["msg_1", "msg_2"], accepted, dead_lettered={"msg_2"})
    assert (figures.delivered, figures.in_dlq, figures.duplicates) == (1, 1, 0)


def test_an_endpoint_that_may_not_skip_counts_what_it_missed_as_lost():
    figures = account("e", "healthy", IDS, accepted_ids([received("msg_1", 204)]), dead_lettered=set())
    assert (figures.delivered, figures.lost, figures.skipped) == (1, 3, 0)


def test_a_dead_lettered_event_that_was_accepted_after_all_counts_as_delivered():
    figures = account("e", "flaky", ["msg_1"], {"msg_1": 1}, dead_lettered={"msg_1"})
    assert (figures.delivered, figures.in_dlq) == (1, 0)


def test_the_endpoint_went_away_at_its_first_410():
    answers = [
        received("msg_1", 204, GONE_AT - 5),
        received("msg_2", 410, GONE_AT),
        received("msg_3", 410, GONE_AT + 1),
    ]
    assert first_gone_at(answers) == GONE_AT
    assert first_gone_at(answers[:1]) is None


def test_skips_are_fan_outs_that_left_the_endpoint_out_after_it_went_away_or_deliveries_that_found_it_disabled():
    entries = [
        # queued before it went away, then found disabled when sent: skipped
        fanned_out("msg_1", [GONE, OTHER], -2),
        {"webhook_id": "msg_1", "endpoint_id": GONE, "action": "skipped", "reason": "the endpoint is disabled"},
        # left out after the first 410: skipped
        fanned_out("msg_2", [OTHER], 0.5),
        # left out before it ever answered 410: a loss, not a skip
        fanned_out("msg_3", [OTHER], -0.5),
        # queued for it, and a later copy of the event that queued only the other: not a skip
        fanned_out("msg_4", [GONE, OTHER], -1),
        fanned_out("msg_4", [OTHER], 3),
        # skipped for another reason, or for another endpoint: not this endpoint's skip
        {"webhook_id": "msg_5", "endpoint_id": GONE, "action": "skipped", "reason": "already delivered"},
        {"webhook_id": "msg_6", "endpoint_id": OTHER, "action": "skipped", "reason": "the endpoint is disabled"},
    ]
    assert skipped_ids(entries, GONE, GONE_AT) == {"msg_1", "msg_2"}


def test_a_line_stamp_reads_back_as_the_same_instant():
    assert stamp(-0.5) == "2026-12-07 09:59:59,500+0000"
    assert line_ms({"timestamp": stamp(-0.5)}) == (GONE_AT - 0.5) * 1000


def test_without_a_410_no_fan_out_counts_as_a_skip():
    assert skipped_ids([fanned_out("msg_2", [OTHER], 10)], GONE, None) == set()


def test_the_figures_add_the_endpoints_up_and_print_a_line_each_then_the_sum():
    figures = EndpointFigures(
        (
            account("a", "healthy", IDS, dict.fromkeys(IDS, 1), set()),
            account("gone", "410 Gone", IDS, {"msg_1": 1}, {"msg_2"}, {"msg_3", "msg_4"}, "HTTP 410"),
        )
    )
    assert (figures.endpoints, figures.delivered, figures.in_dlq, figures.skipped, figures.lost) == (2, 5, 1, 2, 0)
    assert figures.named("gone").disabled_reason == "HTTP 410"
    lines = figures.lines()
    assert lines[0] == "chaos: endpoint a (healthy): delivered=4 in_dlq=0 skipped=0 lost=0 duplicates=0"
    assert lines[1].endswith("skipped=2 lost=0 duplicates=0; disabled: HTTP 410")
    assert lines[2] == "chaos: subscribed endpoints=2: delivered=5 in_dlq=1 skipped=2 lost=0 duplicates=0"


def test_throughput_is_the_accepted_deliveries_a_second_between_the_first_and_the_last():
    answers = [received(f"msg_{n}", 204, GONE_AT + n / 4) for n in range(9)] + [received("msg_x", 500, GONE_AT + 10)]
    assert throughput(answers) == (9, 4.0)
    assert throughput(answers[:1]) == (1, 0.0)
    assert throughput([]) == (0, 0.0)
