"""The TPS quota: over it, calls are refused as AWS refuses them; under any number of callers,
what gets through never exceeds the quota by more than its burst. Also in front of moto."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from local.rekognition import RekognitionService
from local.rekognition.quota import QUOTA_PATH
from local.rekognition.quota_proxy import QuotaProxy
from tests.integration.rekognition.support import fixture_bytes, rekognition_client

# serial: the callers must outrun the quota, which they cannot while other tests hold the cores.
pytestmark = pytest.mark.serial

TPS = 5


@pytest.fixture(scope="module")
def moto_behind_quota():
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    proxy = QuotaProxy(f"http://{host}:{port}", tps=TPS)
    proxy.start()
    yield proxy
    proxy.stop()
    moto.stop()


def hammer(
    url: str, callers: int, seconds: float, until_successes: int = 0, at_most: float = 20.0
) -> tuple[float, list[float], list[dict]]:
    """`callers` threads calling DetectLabels without pause: when they began, the times of successes,
    and the refusals. They call for `seconds`, then on until `until_successes` calls succeeded and one
    was refused: on a loaded machine the callers are slower to outrun the quota, not the quota looser.
    `at_most` seconds in all."""
    successes: list[float] = []
    refusals: list[dict] = []
    began = time.monotonic()

    def calling() -> bool:
        elapsed = time.monotonic() - began
        if elapsed >= at_most:
            return False
        return elapsed < seconds or len(successes) < until_successes or not refusals

    def call() -> None:
        client = rekognition_client(url)
        while calling():
            try:
                client.detect_labels(Image={"S3Object": {"Bucket": "bucket", "Name": "k.jpg"}})
                successes.append(time.monotonic())
            except ClientError as error:
                refusals.append(error.response)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=at_most + 30)
    return began, sorted(successes), refusals


def test_n_callers_never_exceed_the_quota_by_more_than_its_burst(moto_behind_quota):
    began, successes, refusals = hammer(moto_behind_quota.url, callers=6, seconds=2.5, until_successes=TPS * 2)
    burst = TPS  # one second's worth
    # Every success was admitted between the first call and its answer: at most the quota over that
    # span, plus the burst.
    for index, answered in enumerate(successes, start=1):
        assert index <= TPS * (answered - began) + burst
    assert len(successes) >= TPS * 2  # and the callers did get the quota
    assert refusals, "six callers without pause must have been over a quota of five a second"
    assert {r["Error"]["Code"] for r in refusals} == {"ProvisionedThroughputExceededException"}
    assert {r["ResponseMetadata"]["HTTPStatusCode"] for r in refusals} == {400}
    figures = requests.get(moto_behind_quota.url + QUOTA_PATH, timeout=5).json()["operations"]["DetectLabels"]
    assert figures["succeeded"] == len(successes) and figures["throttled"] == len(refusals)


def test_the_local_service_enforces_the_quota_per_operation():
    service = RekognitionService(tps=1)
    service.start()
    service.wait_ready(120)  # a call waiting for the models would let the bucket refill meanwhile
    try:
        client = rekognition_client(service.url)
        image = {"Bytes": fixture_bytes("chelsea.jpg")}
        client.detect_labels(Image=image)
        with pytest.raises(ClientError) as caught:
            client.detect_labels(Image=image)
        assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        assert caught.value.response["Error"]["Message"] == "Provisioned rate exceeded."
        client.detect_faces(Image=image)  # another operation, another quota
    finally:
        service.stop()
