"""Which backend should `make local` default to? Each one measured the same way, in one run.

For EMULATOR=moto and EMULATOR=ministack: the time from nothing to a ready stack, the time from
that command to the first webhook (start plus one upload-to-webhook flow, cold functions
included), then the upload-to-webhook latency of N more flows, one at a time (p50 and p95).
Prints one line per backend. Not part of `make test`: these are measurements, not assertions.

    .venv/bin/python tests/bench/backends.py [--flows 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from local.stack import LocalSystem, StackOptions  # noqa: E402
from local.waiting import wait_until  # noqa: E402


def one_flow(stack: LocalSystem, http: requests.Session) -> float:
    """Seconds from the upload request to the verified webhook for that image."""
    began = time.time()
    response = http.post(
        f"{stack.endpoints.api}/images",
        json={"url": f"{stack.endpoints.fixtures}/chelsea.jpg", "name": f"bench-{uuid.uuid4().hex[:8]}.jpg"},
        timeout=30,
    )
    response.raise_for_status()
    image_id = response.json()["image_id"]
    delivery = wait_until(
        lambda: next(
            (d for d in stack.inbox.deliveries() if (d.body or {}).get("data", {}).get("image_id") == image_id), None
        ),
        60,
        f"the webhook for {image_id}",
    )
    return delivery.received_at - began


def measure(emulator: str, flows: int) -> str:
    began = time.perf_counter()
    options = StackOptions(emulator=emulator, write_endpoints=False, log_path=ROOT / ".local" / f"bench-{emulator}.log")
    with LocalSystem(options) as stack, requests.Session() as http:
        startup = time.perf_counter() - began
        first = one_flow(stack, http)
        to_first_webhook = time.perf_counter() - began
        latencies = sorted(one_flow(stack, http) * 1000 for _ in range(flows))
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return (
        f"backends: {emulator:9} startup {startup:5.1f} s, command to first webhook {to_first_webhook:5.1f} s "
        f"(first flow {first * 1000:5.0f} ms), then p50 {p50:4.0f} ms, p95 {p95:4.0f} ms over {flows} flows"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--emulator", action="append", choices=["moto", "ministack"])
    args = parser.parse_args()
    for emulator in args.emulator or ["moto", "ministack"]:
        print(measure(emulator, args.flows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
