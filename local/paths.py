"""Where things are: the project's own files and the local stack's state directory."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVERLESS_YML = PROJECT_ROOT / "serverless.yml"
FIXTURES_DIR = PROJECT_ROOT / "tests" / "fixtures"
# The stack's state; `.local/endpoints.json` is the interface other tools read once it is ready.
STATE_DIR = PROJECT_ROOT / ".local"
ENDPOINTS_FILE = STATE_DIR / "endpoints.json"
# Each stack's logs, one directory per kind of run, kept after it stops (`python -m local trace`).
LOGS_DIR = STATE_DIR / "logs"
