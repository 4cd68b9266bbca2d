"""The inbox's named receivers (local/sidecars/receivers.py): behaviour set by the query string."""

import pytest

from local.sidecars.receivers import NamedReceivers


def statuses(query: str, times: int) -> list[int]:
    receivers = NamedReceivers()
    return [receivers.receive("r", query, {}, b"{}").status for _ in range(times)]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", [204, 204]),
        ("fail=3", [500, 500, 500, 204, 204]),
        ("status=410", [410, 410, 410]),
        ("retry_after=2", [429, 204]),
        ("fail=1&retry_after=2", [500, 204]),
        ("gone=1", [410, 410]),
        ("gone=3", [204, 204, 410, 410]),
        ("fail_percent=50", [204, 500, 204, 500]),
        ("fail_percent=100", [500, 500, 500]),
    ],
)
def test_the_query_string_sets_the_answers(query, expected):
    assert statuses(query, len(expected)) == expected


@pytest.mark.parametrize("percent", [0, 1, 30, 75, 100])
def test_a_failing_share_fails_that_many_in_every_hundred_and_no_more_than_half_in_a_row(percent):
    answers = statuses(f"fail_percent={percent}", 200)
    assert answers.count(500) == 2 * percent and set(answers) <= {204, 500}
    if percent <= 50:
        assert all(not (a == b == 500) for a, b in zip(answers, answers[1:], strict=False))


def test_retry_after_and_delay_are_carried_in_the_answer():
    receivers = NamedReceivers()
    first = receivers.receive("r", "retry_after=2&delay_ms=1500", {}, b"")
    assert (first.headers, first.delay_seconds) == ({"retry-after": "2"}, 1.5)


def test_each_receiver_records_and_counts_on_its_own():
    receivers = NamedReceivers()
    receivers.receive("a", "fail=1", {"webhook-id": "msg_1"}, b'{"x":1}')
    assert receivers.receive("b", "fail=1", {}, b"").status == 500
    [a] = receivers.deliveries("a")
    assert (a["status"], a["headers"], a["body"], a["answered"]) == (500, {"webhook-id": "msg_1"}, '{"x":1}', False)
    assert receivers.deliveries("nobody") == []


@pytest.mark.parametrize(
    "path, named", [("/r/alice", ("alice", "")), ("/r/alice/deliveries", ("alice", "/deliveries")), ("/", None)]
)
def test_paths_name_their_receiver(path, named):
    assert NamedReceivers.name_of(path) == named
    assert NamedReceivers.name_of("/r/../x") is None
