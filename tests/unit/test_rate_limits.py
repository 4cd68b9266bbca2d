"""The token bucket behind the local API throttle and Rekognition quota, and the quota's ledger."""

import pytest

from local.rate_limits import TokenBucket
from local.rekognition.errors import RekognitionError
from local.rekognition.quota import QuotaLedger


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_bucket_admits_its_burst_at_once_then_its_rate():
    clock = Clock()
    bucket = TokenBucket(rate=4, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # two tokens accrue
    assert [bucket.take() for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("rate, burst", [(8, 8), (2, 5), (50, 50)])
def test_over_any_window_a_bucket_admits_at_most_rate_times_seconds_plus_burst(rate, burst):
    clock = Clock()
    bucket = TokenBucket(rate, burst, clock=clock)
    admitted = []
    for _ in range(4000):  # a caller hammering it every millisecond for four seconds
        if bucket.take():
            admitted.append(clock.now)
        clock.now += 0.001
    for start in admitted:
        window = [t for t in admitted if start <= t <= start + 1.0]
        assert len(window) <= rate * 1.0 + burst
    assert len(admitted) >= rate * 3.9  # and it does not admit less than its rate


def test_the_ledger_refuses_as_aws_does_and_counts_the_rate_it_answered():
    clock = Clock()
    ledger = QuotaLedger(tps=2, clock=clock)
    outcomes = []
    for _ in range(40):
        try:
            ledger.admit("DetectLabels")
            ledger.succeeded("DetectLabels")
            outcomes.append("ok")
        except RekognitionError as error:
            assert (error.code, error.status) == ("ProvisionedThroughputExceededException", 400)
            outcomes.append("throttled")
        clock.now += 0.1
    figures = ledger.snapshot()["operations"]["DetectLabels"]
    assert figures["succeeded"] == outcomes.count("ok") and figures["throttled"] == outcomes.count("throttled")
    # The rate over the run: the quota, plus the opening burst spread over the four seconds.
    assert figures["throttled"] > 0 and 2 <= figures["rate"] <= 2 + 2 / figures["seconds"]


def test_each_operation_has_a_quota_of_its_own_and_zero_means_none():
    ledger = QuotaLedger(tps=1, clock=Clock())
    ledger.admit("DetectLabels")
    ledger.admit("DetectFaces")
    with pytest.raises(RekognitionError):
        ledger.admit("DetectLabels")
    unlimited = QuotaLedger(tps=0)
    for _ in range(1000):
        unlimited.admit("DetectLabels")
