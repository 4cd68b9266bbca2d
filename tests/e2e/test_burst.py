"""`make burst` at small scale: 60 uploads against a quota of 4 DetectLabels a second, on a fresh
stack, and the capacity model's predicted drain rate checked against the rate measured.

The quota is half of `make burst`'s, so that it and not the CPU still binds when this machine's two
cores are shared with other test runs (at 8 a second, a load average of 9 held the rate to 6.3).
A second, smaller burst has the owner subscribe three endpoints, as `make burst ENDPOINTS=3` does."""

import pytest

from local.commands import capacity_model as model
from local.commands.burst import BurstSettings, run

# serial: it compares the drain rate with the model's, and loads every core while it runs.
pytestmark = pytest.mark.serial

TPS = 4
# The rest of a record besides its Rekognition call, locally: DynamoDB and SNS on the emulator.
RECORD_OVERHEAD_SECONDS = 0.1


def test_a_burst_over_the_quota_is_throttled_but_nothing_is_dead_lettered_lost_or_duplicated():
    # GIVEN a fresh stack whose Rekognition allows 4 DetectLabels a second
    settings = BurstSettings(images=60, tps=TPS, stage="e2e-burst")

    # WHEN 60 images are uploaded as fast as the API takes them, and the queues drain
    report = run(settings)
    print(report.line())

    # THEN the quota was really hit, and still every image is DONE with its webhook, once
    f = report.figures
    assert report.throttled_calls > 0
    assert (report.dead_lettered, f.lost, f.duplicates) == (0, 0, 0)
    assert f.done == 60 and f.delivered == 60 and not report.refused_uploads
    # AND no more recognize workers ran at once than its concurrency allows
    assert 1 <= report.peak_workers <= report.workers

    # AND the capacity model, given the quota, the workers, the batch size and the measured call
    # latency, predicts the drain rate within 20%
    predicted = model.drain_rate(
        tps=TPS,
        concurrency=report.workers,
        batch_size=10,
        seconds_a_record=report.mean_call_seconds + RECORD_OVERHEAD_SECONDS,
    )
    print(f"model: predicted {predicted:.2f}/s, measured {report.rate:.2f}/s")
    assert abs(report.rate - predicted) <= 0.2 * predicted


def test_a_burst_reaches_each_of_three_subscribed_endpoints_once_per_event():
    # GIVEN a fresh stack whose owner subscribes three endpoints, and a quota that does not bind
    settings = BurstSettings(images=20, tps=50, endpoints=3, stage="e2e-burst-endpoints")

    # WHEN 20 images are uploaded at once, and the queues drain
    report = run(settings)
    print("\n".join(report.lines()))

    # THEN every endpoint got each image's event exactly once, with nothing dead-lettered or lost
    f = report.figures
    assert f.endpoints is not None and f.endpoints.endpoints == 3
    for endpoint in f.endpoints.accounts:
        assert (endpoint.delivered, endpoint.in_dlq, endpoint.lost, endpoint.duplicates) == (20, 0, 0, 0), endpoint
    assert (report.dead_lettered, f.lost, f.duplicates, f.done) == (0, 0, 0, 20)
    # AND the summary reports the deliveries to endpoints and their rate
    assert report.endpoint_deliveries == 60 and report.delivery_rate > 0
    assert "endpoint_deliveries=60 delivery_rate=" in report.line()
