"""`python -m local e2e`: the smoke flow on a fresh local stack, then a one-line summary.

Upload a fixture by URL, wait for the result to be DONE, wait for its signed webhook, and print
`e2e: passed, upload-to-webhook <N> ms, labels: <names>`. The step lines go to stderr; on failure
the last line names the step, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import logging
import sys

import requests

from local.commands.smoke import DEFAULT_TIMEOUT_SECONDS, Report, SmokeFlow, StepFailed
from local.commands.smoke_targets import TargetError, fresh_local_target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local e2e", description=__doc__)
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait for the webhook"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="local: %(message)s", stream=sys.stderr)
    passed, summary = run(args.timeout)
    print(summary, flush=True)
    return 0 if passed else 1


def run(timeout: float = DEFAULT_TIMEOUT_SECONDS) -> tuple[bool, str]:
    """The flow on a fresh stack built as the environment says: (passed, the summary line)."""
    try:
        target = fresh_local_target()  # never the `make local` that may be running: leave it alone
    except TargetError as e:
        return False, f"e2e: failed, {e}"
    try:
        with requests.Session() as http:
            result = SmokeFlow(target, http, Report(out=sys.stderr), timeout).run()
    except StepFailed as failure:
        return False, f"e2e: failed at {failure.step}, {failure.reason}"
    finally:
        target.close()
    labels = ", ".join(label["name"] for label in result.image.get("labels", [])[:8]) or "(none)"
    return True, f"e2e: passed, upload-to-webhook {result.upload_to_webhook_ms:.0f} ms, labels: {labels}"
