"""lib/deadline.py: the one deadline and bounded poll, as the fetcher, the smoke flow and the waits use it."""

from __future__ import annotations

import pytest

from lib.deadline import Deadline, poll
from lib.fetching.guarded_http import FetchDeadline
from local.waiting import WaitTimedOut, wait_until


def test_a_spent_deadline_is_expired_with_nothing_remaining():
    deadline = Deadline(0)

    assert deadline.expired
    assert deadline.remaining() == 0.0


def test_a_fresh_deadline_has_time_left():
    deadline = Deadline(60)

    assert not deadline.expired
    assert 0 < deadline.remaining() <= 60


def test_poll_returns_the_first_truthy_result():
    answers = iter([None, {}, {"status": "DONE"}, {"status": "later"}])

    assert poll(lambda: next(answers), Deadline(60), interval=0) == {"status": "DONE"}


def test_poll_asks_at_least_once_even_when_the_deadline_has_passed():
    asked = []

    assert poll(lambda: asked.append(1) or "yes", Deadline(0), interval=1) == "yes"
    assert asked == [1]


def test_poll_gives_up_with_none_after_a_last_look_at_the_deadline():
    asked = []

    assert poll(lambda: asked.append(1), Deadline(0.05), interval=0.01) is None
    assert len(asked) >= 2


def test_wait_until_names_what_it_waited_for_as_an_assertion_error():
    with pytest.raises(AssertionError, match="timed out after 0.0 s waiting for the queue to drain") as caught:
        wait_until(lambda: False, 0, "the queue to drain")
    assert isinstance(caught.value, WaitTimedOut)


def test_the_fetchs_deadline_is_the_same_deadline_with_a_watchdog():
    deadline = FetchDeadline(60)
    try:
        assert isinstance(deadline, Deadline)
        assert not deadline.expired
    finally:
        deadline.close()
