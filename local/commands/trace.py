"""`python -m local trace <image_id> [--logs DIR]`: one image's waterfall, from upload to webhook.

Read from the local stack's logs, which are kept after it stops (`.local/logs/` by default), so it
works after `make local-e2e` as well as while `make local` runs. Each hop has its start offset and
its duration; the waits are timed by S3's and SQS's own timestamps. On AWS, X-Ray shows the same
path as linked traces, found by the `image_id` annotation (docs/operations.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from local.observability import logs
from local.observability.runs import logs_root
from local.observability.trace import build


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local trace", description=__doc__)
    parser.add_argument("image_id")
    parser.add_argument(
        "--logs", type=Path, default=logs_root(), help="a log file or directory (default: every kept run, .local/logs)"
    )
    args = parser.parse_args(argv)
    entries = [entry for path in logs.log_files(args.logs) for entry in logs.json_lines(path)]
    trace = build(args.image_id, entries)
    print(trace.render())
    return 0 if trace.hops else 1
