"""The retry policy for a receiver's answer (lib/usecases/delivery.py)."""

import random

import pytest

from lib.usecases import delivery


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status):
    assert delivery.decide(status, None, 1, 10, 900).action == delivery.DELIVERED


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, None])
def test_throttling_server_errors_and_transport_errors_are_retried(status):
    decision = delivery.decide(status, None, 1, 10, 900, error="timeout" if status is None else None)
    assert decision.action == delivery.RETRY
    assert 5 <= decision.delay_seconds <= 10


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 410, 422])
def test_other_statuses_are_permanent(status):
    assert delivery.decide(status, None, 1, 10, 900).action == delivery.PERMANENT


def test_backoff_grows_with_the_attempt_and_is_capped():
    ceilings = [max(delivery.backoff_seconds(n, 10, 900) for _ in range(50)) for n in (1, 2, 3, 4, 10)]
    assert ceilings[0] <= 10 < ceilings[1] <= 20 < ceilings[2] <= 40 < ceilings[3] <= 80
    assert ceilings[4] <= 900


def test_retry_after_seconds_is_honoured_when_longer_than_the_backoff():
    assert delivery.decide(429, "120", 1, 10, 900).delay_seconds == 120


def test_retry_after_is_capped_by_the_maximum_delay():
    assert delivery.decide(503, "999999", 1, 10, 900).delay_seconds == 900


def test_retry_after_as_an_http_date():
    assert delivery.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420) == 60


def test_an_unreadable_retry_after_falls_back_to_backoff():
    assert delivery.parse_retry_after("soon") is None


class Extremes(random.Random):
    """Draws the lowest or the highest value a uniform draw allows."""

    def __init__(self, highest: bool):
        super().__init__()
        self.highest = highest

    def uniform(self, a, b):
        return b if self.highest else a


def test_backoff_is_equal_jitter_between_half_the_step_and_the_step():
    attempts = (1, 2, 3, 10)
    assert [delivery.backoff_seconds(n, 10, 900, Extremes(highest=False)) for n in attempts] == [5, 10, 20, 450]
    assert [delivery.backoff_seconds(n, 10, 900, Extremes(highest=True)) for n in attempts] == [10, 20, 40, 900]
