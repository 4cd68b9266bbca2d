"""The kept runs of `make local`: one directory of logs per run, a `latest` link, the last few kept.

Each `make local` writes its logs to a directory of its own under the logs root (`.local/logs/`,
or `LOCAL_LOGS_DIR`), named by when it started, so the next run leaves the last one's trace
readable. `latest` points at the newest; runs beyond the last KEEP_RUNS are removed as a new one
begins. `make local-e2e` (`e2e/`) and the tests keep logs under names of their own, never pruned here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from local.paths import LOGS_DIR

VARIABLE = "LOCAL_LOGS_DIR"
KEEP_RUNS = 5
RUN_PREFIX = "local-"
LATEST = "latest"


def logs_root(env: Mapping[str, str] = os.environ) -> Path:
    """Where runs keep their logs: LOCAL_LOGS_DIR if set, else `.local/logs`."""
    return Path(env.get(VARIABLE) or LOGS_DIR)


def run_directory(root: Path, now: datetime | None = None, pid: int | None = None) -> Path:
    """A new run's directory: its start time sorts the runs, the pid keeps two in one second apart."""
    started = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{RUN_PREFIX}{started}-{os.getpid() if pid is None else pid}"


def begin_run(directory: Path, keep: int = KEEP_RUNS) -> list[Path]:
    """Creates the run's directory, points `latest` at it, and removes the oldest runs beyond `keep`.

    Returns the directories removed.
    """
    root = directory.parent
    directory.mkdir(parents=True, exist_ok=True)
    link = root / LATEST
    staged = root / f".{LATEST}-{os.getpid()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(directory.name)  # relative: the link still holds if the project moves
    staged.replace(link)  # atomic: a reader never finds `latest` missing
    runs = kept_runs(root)
    removed = runs[:-keep] if keep > 0 else []
    for old in removed:
        if old != directory:
            shutil.rmtree(old, ignore_errors=True)
    return removed


def kept_runs(root: Path) -> list[Path]:
    """The `make local` runs under root, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith(RUN_PREFIX) and p.is_dir() and not p.is_symlink())
