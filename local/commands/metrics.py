"""`python -m local metrics [--logs DIR]`: the running totals of the functions' metrics.

Read from the EMF documents in the local stack's logs (`.local/logs/` by default, one block per
run directory): counts are summed, latencies summarized. On AWS, CloudWatch does this from the
same lines; the dashboard in serverless.yml shows it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.observability import emf, logs
from local.observability.runs import logs_root
from local.paths import PROJECT_ROOT


def report(root: Path) -> list[str]:
    lines: list[str] = []
    runs: dict[Path, list[Path]] = {}
    for path in logs.log_files(root):
        runs.setdefault(path.parent, []).append(path)
    for directory, paths in sorted(runs.items()):
        docs = [doc for path in paths for doc in emf.documents(logs.json_lines(path))]
        if not docs:
            continue
        lines.append(f"{_shown(directory)}: {len(docs)} metric documents")
        for (namespace, name, dimensions), series in sorted(emf.totals(docs).items()):
            split = ", ".join(f"{k}={v}" for k, v in dimensions if k != "service")
            label = f"{name} ({split})" if split else name
            lines.append(f"  {label:<44} {series.describe()}   [{namespace}]")
    return lines


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local metrics", description=__doc__)
    parser.add_argument(
        "--logs", type=Path, default=logs_root(), help="a log file or directory (default: every kept run, .local/logs)"
    )
    args = parser.parse_args(argv)
    lines = report(args.logs)
    if not lines:
        print(f"metrics: no metric documents under {_shown(args.logs)}; has a stack run an image?", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
