"""`python -m local burst`: a burst of uploads against the Rekognition quota, followed to the webhooks.

A fresh local stack runs with the limits AWS would apply: Rekognition's TPS quota (`--tps`, in
front of moto's Rekognition by default, so that the quota and not this machine's CPU binds), the
HTTP API's throttle from serverless.yml, and each function's concurrency. The images are uploaded
as fast as the API accepts them (a 429 is counted and retried), then the run waits until the queues
have drained and audits every image as `make chaos` does.

Every image has bytes of its own (one photo with a numbered JPEG comment), except that a share of
them (`--duplicates`, DUPLICATES=0.5) is sent twice, the copy right behind the first: what identical
images recognized once per owner (lib/usecases/reuse.py) saves shows in the calls per image.

With `--endpoints N` (ENDPOINTS=3), the owner also subscribes N endpoints at the inbox's named
receivers before the burst, and every one of them must get each image's event exactly once: a line
per endpoint says so, and the summary gains the deliveries to endpoints and their rate.

The last line printed is

    burst: images=N done=n failed=n dlq=n lost=n duplicates=n throttled=calls drain=s s rate=r/s quota=q/s
        calls=c calls/image=x identical=share [endpoints=E endpoint_deliveries=d delivery_rate=r/s]

`throttled` counts the DetectLabels calls the quota refused; `rate` is the successful DetectLabels
calls a second, counted at the Rekognition service between its first and last success; `calls` the
successful DetectLabels calls in all (`duplicates` counts records written twice, not identical
images); `delivery_rate` is the endpoints' 2xx answers a second, between the first and the last of
them. `lost` and `duplicates` count each endpoint's copy of an event too. Exits 0 when nothing was
dead-lettered, lost or duplicated.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from local import topology
from local.chaos.audit import Figures, audit
from local.chaos.endpoint_accounts import throughput
from local.chaos.endpoints import healthy, subscribe
from local.chaos.load import Accepted
from local.chaos.run import wait_drained
from local.chaos.scenario import with_visibility
from local.errors import StackError
from local.paths import FIXTURES_DIR
from local.rekognition.quota import QUOTA_PATH
from local.stack import LocalSystem, StackOptions
from local.waiting import WaitTimedOut

logger = logging.getLogger("local.burst")

OPERATION = "DetectLabels"
PHOTO = "chelsea.jpg"
PROGRESS_SECONDS = 10.0


@dataclass(frozen=True)
class BurstSettings:
    images: int = 1000
    # The share of images that are a second copy of another image's bytes, sent right behind it.
    duplicates: float = 0.0
    tps: float = 8.0
    endpoints: int = 0  # endpoints the owner subscribes, each getting every event
    rekognition: str = "moto"
    uploaders: int = 8  # uploads in flight at once
    stage: str = "burst"
    drain_timeout: float = 900.0
    # Workers per function at most. recognize's MaximumConcurrency in serverless.yml is 5; four
    # keep enough calls waiting on the quota that the quota, not this machine, sets the pace.
    max_workers: int = 4
    # moto's DynamoDB fails an UpdateItem now and then when another thread reads the same item (a
    # race inside moto, not an AWS behavior); the record is retried after its visibility timeout,
    # which the burst stage shortens from minutes so that such a retry does not dominate the drain.
    # Longer than a recognize batch takes, so a running batch is not delivered twice.
    visibility_timeout: int = 30
    integration_visibility_timeout: int = 5


@dataclass
class BurstReport:
    settings: BurstSettings
    figures: Figures
    refused_uploads: list[str]
    api_throttled: int
    throttled_calls: int
    rate: float
    drain_seconds: float
    peak_workers: int
    workers: int  # recognize's concurrency
    mean_call_seconds: float
    calls: int = 0  # successful DetectLabels calls
    endpoint_deliveries: int = 0  # 2xx answers of the subscribed endpoints
    delivery_rate: float = 0.0  # of those, a second
    notes: list[str] = field(default_factory=list)

    @property
    def dead_lettered(self) -> int:
        endpoints = self.figures.endpoints.in_dlq if self.figures.endpoints else 0
        return self.figures.uploads_dlq + self.figures.in_dlq + endpoints

    @property
    def passed(self) -> bool:
        f = self.figures
        return not self.refused_uploads and self.dead_lettered == 0 and f.lost == 0 and f.duplicates == 0

    def line(self) -> str:
        f = self.figures
        return (
            f"burst: images={self.settings.images} done={f.done} failed={f.failed} dlq={self.dead_lettered} "
            f"lost={f.lost} duplicates={f.duplicates} throttled={self.throttled_calls} "
            f"drain={self.drain_seconds:.1f} s rate={self.rate:.2f}/s quota={self.settings.tps:g}/s "
            f"calls={self.calls} calls/image={self.calls / max(1, self.settings.images):.2f} "
            f"identical={self.settings.duplicates:g}"
            + (
                f" endpoints={self.settings.endpoints} endpoint_deliveries={self.endpoint_deliveries} "
                f"delivery_rate={self.delivery_rate:.2f}/s"
                if self.settings.endpoints
                else ""
            )
        )

    def lines(self) -> list[str]:
        """The per-endpoint accounting, if any, then the summary line."""
        endpoints = self.figures.endpoints
        return [*(endpoints.lines("burst") if endpoints else []), self.line()]


def burst_stack(settings: BurstSettings, log_path: Path) -> LocalSystem:
    options = StackOptions(
        stage=settings.stage,
        rekognition=settings.rekognition,
        rekognition_tps=settings.tps,
        max_workers=settings.max_workers,
        write_endpoints=False,
        log_path=log_path,
        poll_wait_seconds=1,
    )
    visibility = {
        "UploadsQueue": settings.visibility_timeout,
        "IntegrationQueue": settings.integration_visibility_timeout,
    }
    return LocalSystem(options, with_visibility(topology.load(settings.stage), visibility))


def run(settings: BurstSettings, progress: Callable[[str], None] = logger.info) -> BurstReport:
    if settings.tps <= 0:
        raise StackError("a burst needs a Rekognition quota: --tps must be positive")
    if not 0 <= settings.duplicates <= 0.5:
        raise StackError("--duplicates is a share from 0 to 0.5: each copy follows an image of its own")
    if settings.endpoints < 0:
        raise StackError("--endpoints must be 0 or more")
    with (
        tempfile.TemporaryDirectory(prefix="burst-") as scratch,
        burst_stack(settings, Path(scratch) / "fn.log") as stack,
    ):
        progress(f"stack ready in {stack.started_in:.1f} s; {settings.images} images against {settings.tps:g} TPS")
        subscribed = subscribe(stack, healthy(settings.endpoints))
        uploads = Uploader(stack, settings)
        began = time.perf_counter()
        reporter = _Progress(stack, uploads, began, progress, tuple(r.name for r in subscribed.values()))
        reporter.start()
        try:
            uploads.push()
            progress(
                f"{len(uploads.accepted)} images accepted in {time.perf_counter() - began:.1f} s "
                f"({uploads.api_throttled} answered 429 first); waiting for the queues to drain"
            )
            wait_drained(stack, settings.drain_timeout)
            drain_seconds = time.perf_counter() - began
        finally:
            reporter.stop()
        assert stack.inbox is not None and stack.runtime is not None
        figures = audit(stack, uploads.accepted, stack.inbox.deliveries(), subscribed)
        calls = quota_figures(stack)
        received = [r for receiver in subscribed.values() for r in stack.inbox.receivers.deliveries(receiver.name)]
        endpoint_deliveries, delivery_rate = throughput(received)
        return BurstReport(
            settings=settings,
            figures=figures,
            refused_uploads=uploads.refused,
            api_throttled=uploads.api_throttled,
            throttled_calls=calls.get("throttled", 0),
            rate=calls.get("rate", 0.0),
            drain_seconds=drain_seconds,
            peak_workers=stack.runtime.peak_concurrency("recognize"),
            workers=stack.runtime.concurrency("recognize"),
            mean_call_seconds=calls.get("mean_call_seconds", 0.0),
            calls=calls.get("succeeded", 0),
            endpoint_deliveries=endpoint_deliveries,
            delivery_rate=delivery_rate,
        )


def quota_figures(stack: LocalSystem) -> dict:
    answer = requests.get(stack.rekognition.url + QUOTA_PATH, timeout=10).json()
    return answer["operations"].get(OPERATION, {})


class Uploader:
    """Uploads the burst through the API; a 429 is counted and retried after a short jittered pause."""

    def __init__(self, stack: LocalSystem, settings: BurstSettings):
        assert stack.endpoints is not None
        self.api = stack.endpoints.api
        self.settings = settings
        self.photo = (FIXTURES_DIR / PHOTO).read_bytes()
        self.accepted: dict[str, Accepted] = {}
        self.refused: list[str] = []
        self.api_throttled = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def push(self) -> None:
        plan = upload_plan(self.settings.images, self.settings.duplicates)
        with ThreadPoolExecutor(self.settings.uploaders, thread_name_prefix="burst-upload") as pool:
            list(pool.map(lambda item: self._upload(*item), plan))

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _upload(self, name: str, variant: int) -> None:
        body = numbered_jpeg(self.photo, variant)
        pause = 0.05
        for _ in range(1000):
            response = self._session().post(
                f"{self.api}/images?{urllib.parse.urlencode({'name': name})}",
                data=body,
                headers={"content-type": "image/jpeg"},
                timeout=60,
            )
            if response.status_code != 429:
                break
            with self._lock:
                self.api_throttled += 1
            time.sleep(random.uniform(0, pause))
            pause = min(pause * 2, 1.0)
        if response.status_code != 202:
            with self._lock:
                self.refused.append(f"{name}: HTTP {response.status_code} {response.text[:200]}")
            return
        image_id = response.json()["image_id"]
        with self._lock:
            self.accepted[image_id] = Accepted(image_id, name, f"images/{image_id}.jpg")


def upload_plan(images: int, duplicates: float) -> list[tuple[str, int]]:
    """(name, variant) per upload, in sending order: each variant once, and the first `images x
    duplicates` of them a second time, right behind."""
    copies = round(images * duplicates)
    plan: list[tuple[str, int]] = []
    for variant in range(images - copies):
        plan.append((f"burst-{len(plan):06d}", variant))
        if variant < copies:
            plan.append((f"burst-{len(plan):06d}", variant))
    return plan


def numbered_jpeg(photo: bytes, number: int) -> bytes:
    """The photo with a JPEG comment segment (COM) holding `number` right after its start marker:
    other bytes, so another SHA-256, and the same picture to any decoder."""
    assert photo[:2] == b"\xff\xd8", "a JPEG starts with its SOI marker"
    comment = f"burst {number}".encode()
    return photo[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + photo[2:]


class _Progress:
    """A line every few seconds: uploads, recognitions, throttles, the backlog and the workers in
    use, and with subscribed endpoints how many of their deliveries have been answered 2xx so far
    (they go on after recognition is over, and then bound the drain)."""

    def __init__(
        self,
        stack: LocalSystem,
        uploads: Uploader,
        began: float,
        out: Callable[[str], None],
        receivers: tuple[str, ...] = (),
    ):
        self.stack, self.uploads, self.began, self.out = stack, uploads, began, out
        self.receivers = receivers  # the inbox's named receivers the endpoints point at
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="burst-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        sqs = self.stack.session().client("sqs")
        while not self._stopping.wait(PROGRESS_SECONDS):
            try:
                calls = quota_figures(self.stack)
                backlog = sqs.get_queue_attributes(
                    QueueUrl=self.stack.physical("UploadsQueue"),
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
            except (requests.RequestException, StackError) as error:
                self.out(f"progress unavailable: {error}")
                continue
            assert self.stack.runtime is not None
            self.out(
                f"{time.perf_counter() - self.began:5.0f} s  uploaded={len(self.uploads.accepted)} "
                f"recognized={calls.get('succeeded', 0)} throttled={calls.get('throttled', 0)} "
                f"backlog={backlog['ApproximateNumberOfMessages']}+{backlog['ApproximateNumberOfMessagesNotVisible']} "
                f"recognize workers peak={self.stack.runtime.peak_concurrency('recognize')}{self._endpoints()}"
            )

    def _endpoints(self) -> str:
        if not self.receivers:
            return ""
        assert self.stack.inbox is not None
        received = {name: self.stack.inbox.receivers.deliveries(name) for name in self.receivers}
        return " " + endpoint_progress(received, len(self.uploads.accepted))


def endpoint_progress(received: Mapping[str, list[Mapping[str, Any]]], images: int) -> str:
    """ "endpoint_deliveries=answered/expected": the 2xx answers of the endpoints' receivers
    (`received`: each receiver's requests) against one per image and receiver."""
    answered = sum(1 for got in received.values() for request in got if 200 <= request["status"] < 300)
    return f"endpoint_deliveries={answered}/{images * len(received)}"


def main(argv: list[str]) -> int:
    defaults = BurstSettings()
    parser = argparse.ArgumentParser(prog="python -m local burst", description=__doc__)
    parser.add_argument("--images", type=int, default=defaults.images, help="images to upload (%(default)s)")
    parser.add_argument(
        "--duplicates", type=float, default=defaults.duplicates, help="share sent twice, 0 to 0.5 (%(default)s)"
    )
    parser.add_argument("--tps", type=float, default=defaults.tps, help="Rekognition quota, calls/s (%(default)s)")
    parser.add_argument(
        "--endpoints", type=int, default=defaults.endpoints, help="endpoints the owner subscribes (%(default)s)"
    )
    parser.add_argument("--rekognition", choices=("moto", "local"), default=defaults.rekognition)
    parser.add_argument("--max-workers", type=int, default=defaults.max_workers, help="per function (%(default)s)")
    parser.add_argument("--verbose", action="store_true", help="log every batch and request of the stack")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="local: %(message)s")
    settings = BurstSettings(
        images=args.images,
        duplicates=args.duplicates,
        tps=args.tps,
        endpoints=args.endpoints,
        rekognition=args.rekognition,
        max_workers=args.max_workers,
    )
    try:
        report = run(settings, progress=lambda message: print(f"burst: {message}", file=sys.stderr, flush=True))
    except (StackError, WaitTimedOut) as error:
        print(f"burst: failed, {error}", flush=True)
        return 1
    for refused in report.refused_uploads[:10]:
        print(f"burst: refused upload {refused}", file=sys.stderr)
    print(
        f"burst: uploads answered 429 first={report.api_throttled}; recognize workers peak={report.peak_workers}",
        flush=True,
    )
    print("\n".join(report.lines()), flush=True)
    return 0 if report.passed else 1
