"""The local stack's logs, kept under `.local/logs/<run>/` after it stops (runs.py names the runs).

`functions.log` holds what the functions write: Powertools' JSON lines, their EMF metric documents
and the runtime's platform lines, as CloudWatch Logs would. `api.log` holds the gateway's access
log, one JSON line per request. Both are started afresh when a stack starts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

FUNCTIONS_LOG = "functions.log"
API_LOG = "api.log"


class JsonLinesLog:
    """An append-only file of JSON lines, written from many threads."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def start_afresh(directory: Path) -> None:
    """Empties the run's logs, so that they hold this run alone."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (FUNCTIONS_LOG, API_LOG):
        (directory / name).write_bytes(b"")


def log_files(root: Path) -> list[Path]:
    """Every log under root (a file, or a directory searched recursively), oldest first.

    Each file once, however many links reach it (the kept runs' `latest`).
    """
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    found = {path.resolve() for path in root.rglob("*.log") if path.is_file()}
    return sorted(found, key=lambda path: path.stat().st_mtime)


def line_ms(entry: Mapping[str, Any]) -> float | None:
    """Epoch ms of a Powertools line's timestamp (`2026-11-30 04:20:41,123+0000`)."""
    try:
        return datetime.strptime(str(entry.get("timestamp")), "%Y-%m-%d %H:%M:%S,%f%z").timestamp() * 1000
    except ValueError:
        return None


def json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a log; other lines (tracebacks, plain prints) are skipped."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield entry


class Follower:
    """Copies what is appended to a log to a stream, as `tail -f` would: the terminal of `make local`."""

    POLL_SECONDS = 0.1

    def __init__(self, path: Path, out: Any):
        self.path = path
        self._out = out
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        with self.path.open("rb") as source:
            while True:
                chunk = source.read(1 << 16)
                if chunk:
                    self._out.write(chunk.decode("utf-8", errors="replace"))
                    self._out.flush()
                elif self._stopping.wait(self.POLL_SECONDS):
                    return
