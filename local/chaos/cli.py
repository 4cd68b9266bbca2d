"""`python -m local chaos`: push images through a fresh local stack under faults and audit the result.

The last line printed is `chaos: accepted=N done=N failed=N delivered=N in_dlq=N lost=N duplicates=N`.
Exits 0 only if nothing was lost, duplicated or orphaned, no label item strayed from its record,
every webhook-id was stable, every upload was accepted, and the worker was killed mid-batch as often
as asked.
"""

from __future__ import annotations

import argparse
import logging
import sys

from local.chaos.run import run
from local.chaos.scenario import ChaosSettings
from local.errors import StackError
from local.stack_options import REKOGNITION_MODES
from local.waiting import WaitTimedOut


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def main(argv: list[str]) -> int:
    defaults = ChaosSettings()
    parser = argparse.ArgumentParser(prog="python -m local chaos", description=__doc__)
    parser.add_argument("--images", type=int, default=defaults.images, help="images to push (default %(default)s)")
    parser.add_argument("--webhook-fail-rate", type=_fraction, default=defaults.webhook_fail_rate)
    parser.add_argument("--rekognition-fail-rate", type=_fraction, default=defaults.rekognition_fail_rate)
    parser.add_argument("--worker-kills", type=int, default=defaults.worker_kills)
    parser.add_argument("--duplicate-rate", type=_fraction, default=defaults.duplicate_rate)
    parser.add_argument("--visibility-timeout", type=int, default=defaults.visibility_timeout)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--rekognition", choices=[m for m in REKOGNITION_MODES if m != "aws"], default="local")
    parser.add_argument("--verbose", action="store_true", help="log every batch and request of the stack")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="local: %(message)s")
    logging.getLogger("local.chaos").setLevel(logging.INFO)

    settings = ChaosSettings(
        images=args.images,
        webhook_fail_rate=args.webhook_fail_rate,
        rekognition_fail_rate=args.rekognition_fail_rate,
        worker_kills=args.worker_kills,
        duplicate_rate=args.duplicate_rate,
        visibility_timeout=args.visibility_timeout,
        seed=args.seed,
        rekognition=args.rekognition,
    )
    try:
        report = run(settings, progress=lambda message: print(f"chaos: {message}", file=sys.stderr, flush=True))
    except (StackError, WaitTimedOut) as error:
        print(f"chaos: failed, {error}", flush=True)
        return 1
    for refused in report.refused_uploads[:10]:
        print(f"chaos: upload refused: {refused}", flush=True)
    print("\n".join(report.lines()), flush=True)
    return 0 if report.passed else 1
