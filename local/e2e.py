"""`python -m local e2e`: one full flow on a fresh stack, then a one-line summary.

Upload a fixture by URL, wait for the result to be DONE, wait for its signed webhook, and print
`e2e: passed, upload-to-webhook <N> ms, labels: <names>`. Exits non-zero, naming the step, on failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import urllib.parse

import requests

from local.inbox import Delivery
from local.stack import LocalStack, StackError, StackOptions
from local.waiting import WaitTimedOut, wait_until


class E2EFailure(Exception):
    pass


def run_flow(stack: LocalStack, fixture: str = "chelsea.jpg", timeout: float = 60.0) -> dict:
    endpoints = stack.endpoints
    assert endpoints is not None and stack.inbox is not None
    image_url = f"{endpoints.fixtures}/{fixture}"
    started = time.perf_counter()
    started_wall = time.time()
    response = requests.get(
        f"{endpoints.api}/?" + urllib.parse.urlencode({"url": image_url, "name": fixture}), timeout=30
    )
    if response.status_code != 202:
        raise E2EFailure(f"upload: expected 202, got {response.status_code}: {response.text[:300]}")
    image_id = response.json()["image_id"]

    def delivered() -> Delivery | None:
        return next(
            (
                d
                for d in stack.inbox.deliveries()
                if d.verified and (d.body or {}).get("data", {}).get("image_id") == image_id
            ),
            None,
        )

    delivery = wait_until(delivered, timeout, f"a signed webhook for image {image_id}")
    upload_to_webhook_ms = (delivery.received_at - started_wall) * 1000
    result = requests.get(f"{endpoints.api}/images/{image_id}", timeout=10).json()
    if result.get("status") != "DONE":
        raise E2EFailure(f"result: expected DONE, got {result.get('status')}: {result.get('error')}")
    if delivery.event_type != "image.recognized":
        raise E2EFailure(f"webhook: expected image.recognized, got {delivery.event_type}")
    return {
        "image_id": image_id,
        "upload_to_webhook_ms": upload_to_webhook_ms,
        "elapsed_ms": (time.perf_counter() - started) * 1000,
        "labels": [label["name"] for label in result.get("labels", [])],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local e2e", description=__doc__)
    parser.add_argument("--fixture", default="chelsea.jpg", help="image under tests/fixtures to upload")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the webhook")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="local: %(message)s", stream=sys.stderr)
    try:
        options = StackOptions.from_env()
        options.write_endpoints = False  # a `make local` may be running; leave its file alone
        with LocalStack(options) as stack:
            summary = run_flow(stack, args.fixture, args.timeout)
    except (StackError, E2EFailure, WaitTimedOut) as e:
        print(f"e2e: failed, {e}", flush=True)
        return 1
    labels = ", ".join(summary["labels"][:8]) or "(none)"
    print(f"e2e: passed, upload-to-webhook {summary['upload_to_webhook_ms']:.0f} ms, labels: {labels}", flush=True)
    return 0
