"""The endpoints file: where a running local stack says its endpoints are, for the tools that talk to it.

The stack writes it once everything answers and removes it on a clean stop. Besides the endpoints
(`api`, `aws`, `rekognition`, `webhook_inbox`, `fixtures`) it holds `pid`, the process to signal to
stop that stack. `LOCAL_ENDPOINTS_FILE`
puts it elsewhere than `.local/endpoints.json`, so that a second stack (a test's, a benchmark's)
does not overwrite the one `make local` runs; every reader finds it through `endpoints_file`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local.paths import ENDPOINTS_FILE, PROJECT_ROOT

VARIABLE = "LOCAL_ENDPOINTS_FILE"


@dataclass(frozen=True)
class Endpoints:
    api: str
    aws: str
    rekognition: str
    webhook_inbox: str
    fixtures: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def endpoints_file(env: Mapping[str, str] = os.environ) -> Path:
    """Where the endpoints file is: LOCAL_ENDPOINTS_FILE if set, else `.local/endpoints.json`."""
    return Path(env.get(VARIABLE) or ENDPOINTS_FILE)


def read_endpoints(path: Path | None = None) -> dict[str, Any]:
    """What a running stack wrote. OSError when there is no file, ValueError when it is not JSON."""
    endpoints = json.loads((path or endpoints_file()).read_text())
    if not isinstance(endpoints, dict):
        raise ValueError("the endpoints file does not hold a JSON object")
    return endpoints


def write_endpoints(path: Path, endpoints: Endpoints, pid: int | None = None) -> None:
    """The endpoints, and the pid of the process that serves them, which `python -m local stop` signals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = {**endpoints.to_json(), "pid": os.getpid() if pid is None else pid}
    # Written whole or not at all: a reader that waits for the file to appear (make stop, the tests,
    # a shell one-liner) must never find it empty or half-written.
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(written, indent=2) + "\n")
    os.replace(partial, path)


def shown(path: Path) -> str:
    """The path as a person reads it: relative to the project when inside it."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
