"""`python -m local smoke`: one upload-to-webhook flow against a target, one line per step with its time.

Steps: find the target, upload a small public-domain image (by URL where the target can fetch our
fixture server, else as bytes), wait for `GET /images/{id}` to be DONE, check the labels are not
empty, and check the signed webhook arrived when an inbox that lists its deliveries is known.
Exit code 0 when every step passed, 1 when one failed (its line names it and says why), 2 when the
arguments are wrong.

    python -m local smoke                        # the local stack: the running one, else a fresh one
    python -m local smoke --api https://...      # any API
    python -m local smoke --stage dev            # a deployed stage, found through CloudFormation
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from lib.deadline import Deadline, poll
from local.commands.smoke_targets import Target, TargetError, api_target, local_target, stage_target
from local.paths import PROJECT_ROOT

IMAGE = "chelsea.jpg"  # CC0; see tests/fixtures/LICENSES.md
DEFAULT_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.25


class StepFailed(Exception):
    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class Report:
    """Prints one aligned line per step: name, milliseconds, what was seen."""

    def __init__(self, out: Any = None):
        self.out = out  # None: whatever sys.stdout is at the time of printing
        self.began = time.perf_counter()

    def step(self, name: str, began: float, detail: str) -> None:
        self._print(f"{name:<12}{(time.perf_counter() - began) * 1000:>8.0f} ms  {detail}")

    def failed(self, error: StepFailed) -> None:
        self._print(f"FAILED at {error.step} after {self._elapsed_ms():.0f} ms: {error.reason}")

    def passed(self) -> None:
        self._print(f"passed in {self._elapsed_ms():.0f} ms")

    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self.began) * 1000

    def _print(self, line: str) -> None:
        print(f"smoke: {line}", file=self.out or sys.stdout, flush=True)


@dataclass(frozen=True)
class SmokeResult:
    image: dict[str, Any]  # the DONE image, as GET /images/{id} answered
    delivery: dict[str, Any] | None  # its verified webhook as the inbox recorded it; None if not checked
    uploaded_at: float  # epoch seconds, comparable with the inbox's received_at

    @property
    def upload_to_webhook_ms(self) -> float | None:
        return (self.delivery["received_at"] - self.uploaded_at) * 1000 if self.delivery else None


class SmokeFlow:
    def __init__(self, target: Target, http: requests.Session, report: Report, timeout: float):
        self.target = target
        self.http = http
        self.report = report
        self.timeout = timeout

    def run(self) -> SmokeResult:
        uploaded_at = time.time()
        image_id = self.upload()
        deadline = Deadline(self.timeout)
        image = self.recognition(image_id, deadline)
        self.labels(image)
        return SmokeResult(image, self.webhook(image_id, deadline), uploaded_at)

    # --- steps ---------------------------------------------------------------------------------------
    def upload(self) -> str:
        began = time.perf_counter()
        name = f"smoke-{uuid.uuid4().hex[:8]}-{IMAGE}"
        if self.target.fixtures:
            how = f"by URL ({IMAGE} from the fixture server)"
            request: dict[str, Any] = {"json": {"url": f"{self.target.fixtures}/{IMAGE}", "name": name}}
        else:
            how = f"as image/jpeg bytes ({IMAGE})"
            request = {
                "params": {"name": name},
                "data": (PROJECT_ROOT / "tests" / "fixtures" / IMAGE).read_bytes(),
                "headers": {"content-type": "image/jpeg"},
            }
        response = _request("upload", lambda: self.http.post(f"{self.target.api}/images", timeout=30, **request))
        if response.status_code != 202:
            self._fail_on_problems("upload")  # a denied call explains a failed upload better than its 500
            raise StepFailed("upload", f"POST /images answered {response.status_code}, not 202: {_excerpt(response)}")
        image_id = _json(response, "upload").get("image_id")
        if not isinstance(image_id, str):
            raise StepFailed("upload", f"the 202 carries no image_id: {_excerpt(response)}")
        self.report.step("upload", began, f"202, image {image_id} {how}")
        return image_id

    def recognition(self, image_id: str, deadline: Deadline) -> dict[str, Any]:
        began = time.perf_counter()
        last: dict[str, Any] = {}

        def finished() -> dict[str, Any] | None:
            self._fail_on_problems("recognition")
            url = f"{self.target.api}/images/{image_id}"
            response = _request("recognition", lambda: self.http.get(url, timeout=min(10, deadline.remaining() + 1)))
            if response.status_code != 200:
                raise StepFailed("recognition", f"GET {url} answered {response.status_code}: {_excerpt(response)}")
            last.update(_json(response, "recognition"))
            return dict(last) if last.get("status") in ("DONE", "FAILED") else None

        image = poll(finished, deadline, POLL_SECONDS)
        if image is None:
            raise StepFailed(
                "recognition",
                f"image {image_id} still {last.get('status', 'unknown')} at the {self.timeout:g} s deadline",
            )
        if image["status"] != "DONE":
            raise StepFailed("recognition", f"image {image_id} FAILED: {image.get('error')}")
        self.report.step("recognition", began, "DONE")
        return image

    def labels(self, image: dict[str, Any]) -> None:
        began = time.perf_counter()
        names = [label.get("name") for label in image.get("labels") or [] if isinstance(label, dict)]
        if not names:
            raise StepFailed("labels", f"image {image.get('image_id')} is DONE with no labels")
        shown = ", ".join(str(n) for n in names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        self.report.step("labels", began, shown)

    def webhook(self, image_id: str, deadline: Deadline) -> dict[str, Any] | None:
        began = time.perf_counter()
        if not self.target.inbox:
            self.report.step("webhook", began, "skipped: no inbox known for this target (--inbox URL)")
            return None
        if self._deliveries() is None:
            self.report.step("webhook", began, f"skipped: {self.target.inbox} does not list its deliveries")
            return None

        def delivered() -> dict[str, Any] | None:
            self._fail_on_problems("webhook")
            about = [d for d in self._deliveries() or [] if _image_of(d) == image_id]
            return next((d for d in about if d.get("verified") and 200 <= int(d.get("status") or 0) < 300), None)

        delivery = poll(delivered, deadline, POLL_SECONDS)
        if delivery is None:
            where = f"at {self.target.inbox} by the {self.timeout:g} s deadline"
            raise StepFailed("webhook", f"no verified 2xx delivery for image {image_id} {where}")
        detail = f"{delivery.get('event_type')}, signature verified, {delivery.get('webhook_id')}"
        self.report.step("webhook", began, detail)
        return delivery

    def _fail_on_problems(self, step: str) -> None:
        problems = self.target.problems()
        if problems:
            raise StepFailed(step, "; ".join(problems))

    def _deliveries(self) -> list[dict[str, Any]] | None:
        """The inbox's deliveries, or None when it does not answer with a list of them."""
        assert self.target.inbox is not None
        try:
            payload = requests.get(self.target.inbox, timeout=10).json()
        except (requests.RequestException, ValueError):
            return None
        deliveries = payload.get("deliveries") if isinstance(payload, dict) else None
        return deliveries if isinstance(deliveries, list) else None


# --- helpers ------------------------------------------------------------------------------------------
def _request(step: str, call: Callable[[], requests.Response]) -> requests.Response:
    try:
        return call()
    except requests.RequestException as error:
        raise StepFailed(step, f"the API did not answer: {_reason(error)}") from None


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.ConnectionError) and not isinstance(error, requests.Timeout):
        return f"could not connect to {error.request.url if error.request else 'it'}"
    return f"{type(error).__name__}: {error}"


def _json(response: requests.Response, step: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise StepFailed(step, f"the answer is not a JSON object: {_excerpt(response)}")
    return payload


def _image_of(delivery: Any) -> Any:
    body = delivery.get("body") if isinstance(delivery, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    return data.get("image_id") if isinstance(data, dict) else None


def _excerpt(response: requests.Response) -> str:
    return " ".join(response.text.split())[:300] or "(empty body)"


# --- command line -------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local smoke", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--api", help="the API's base URL (default: the local stack)")
    where.add_argument("--stage", help="a deployed stage: its API URL is read from CloudFormation")
    parser.add_argument("--region", help="the stage's region (default: your AWS profile's, else serverless.yml's)")
    parser.add_argument("--profile", help="the AWS profile to read the stage with (default: AWS_PROFILE)")
    parser.add_argument("--inbox", help="a webhook inbox that answers GET with {'deliveries': [...]}")
    parser.add_argument(
        "--token", default=os.environ.get("TOKEN") or None, help="bearer token when auth is on (default: TOKEN)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("SMOKE_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS),
        help="seconds to wait for DONE and for the webhook (default: SMOKE_TIMEOUT or 60)",
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")

    report = Report()
    http = requests.Session()
    if args.token:
        http.headers["Authorization"] = f"Bearer {args.token}"
    began = time.perf_counter()
    try:
        target = _find_target(args)
    except TargetError as error:
        report.failed(StepFailed("target", str(error)))
        return 1
    try:
        report.step("target", began, target.description)
        SmokeFlow(target, http, report, args.timeout).run()
    except StepFailed as failure:
        report.failed(failure)
        return 1
    finally:
        target.close()
    report.passed()
    return 0


def _find_target(args: argparse.Namespace) -> Target:
    if args.api:
        return api_target(args.api, inbox=args.inbox)
    if args.stage:
        return stage_target(args.stage, inbox=args.inbox, region=args.region, profile=args.profile)
    target = local_target()
    if args.inbox:
        target.inbox = args.inbox
    return target
