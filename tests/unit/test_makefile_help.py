"""`make help`: every described target, in plain text when its output is not a terminal."""

import re
import shutil
import subprocess

import pytest

from local import paths

pytestmark = [
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


def test_piped_help_lists_every_described_target_without_escape_codes():
    out = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=paths.PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "\033" not in out
    described = re.findall(
        r"^([a-zA-Z0-9_-]+):.*## ", (paths.PROJECT_ROOT / "Makefile").read_text(), flags=re.MULTILINE
    )
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == described
