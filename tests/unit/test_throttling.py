"""Backoff inside an invocation and the re-queue delay: jittered, bounded, and only for throttles."""

import random

import pytest

from lib.domain.errors import TransientError
from lib.throttling import SQS_MAX_DELAY_SECONDS, Backoff, Throttled, is_throttle, requeue_delay


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def backoff(clock, budget):
    return Backoff(budget_seconds=budget, sleep=clock.sleep, clock=lambda: clock.now, rng=random.Random(7))


def test_a_throttled_call_is_retried_with_growing_jittered_waits_until_it_succeeds():
    clock, answers = FakeClock(), [Throttled("Rekognition", "slow down")] * 4 + ["labels"]

    def call():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert backoff(clock, budget=10).run(call) == "labels"
    assert len(clock.sleeps) == 4
    # Full jitter: each wait lies between 0 and the capped exponential step.
    assert all(0 <= wait <= min(2.0, 0.1 * 2**n) for n, wait in enumerate(clock.sleeps))


def test_backoff_gives_up_within_its_budget():
    clock = FakeClock()

    def always_throttled():
        raise Throttled("Rekognition", "slow down")

    with pytest.raises(Throttled):
        backoff(clock, budget=5).run(always_throttled)
    assert clock.now < 5 and len(clock.sleeps) > 3


def test_other_failures_are_not_retried():
    clock, calls = FakeClock(), []

    def broken():
        calls.append(1)
        raise TransientError("down")

    with pytest.raises(TransientError):
        backoff(clock, budget=60).run(broken)
    assert calls == [1] and clock.sleeps == []


def test_requeue_delay_doubles_and_stays_within_sqs_ceiling():
    rng = random.Random(1)
    for count in range(1, 20):
        step = min(SQS_MAX_DELAY_SECONDS, 2 * 2**count)
        assert step // 2 <= requeue_delay(count, rng=rng) <= step


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "SlowDown"]
)
def test_throttle_codes_of_rekognition_dynamodb_sns_and_s3_are_recognized(code):
    assert is_throttle(code)


@pytest.mark.parametrize("code", ["InvalidImageFormatException", "ConditionalCheckFailedException", "AccessDenied"])
def test_refusals_are_not_throttles(code):
    assert not is_throttle(code)
