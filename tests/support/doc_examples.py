"""The shell examples of README.md and docs/*.md, in reading order, and how to run them.

A fence's info string says what an example needs. ```sh (or ```bash) alone runs against the local
stack that `make local` runs, and a test runs it as written. A word after the language sets it
aside, and the test lists it as skipped with the reason below:
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from local.paths import PROJECT_ROOT

SET_ASIDE = {
    "aws": "needs AWS credentials and a deployed stage",
    "template": "has placeholders to fill in first",
    "setup": "starts a stack, a service or the test suite itself",
}
_FENCE = re.compile(r"^(?P<indent>\s*)```(?:sh|bash)(?:\s+(?P<tag>\S+))?\s*$")


@dataclass(frozen=True)
class Example:
    doc: str  # relative to the project
    line: int  # of the opening fence
    tag: str | None
    script: str

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def documents(root: Path = PROJECT_ROOT) -> list[Path]:
    """README.md first, then docs/ by name: the order a reader meets them in from the README."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def examples(root: Path = PROJECT_ROOT) -> list[Example]:
    found = []
    for path in documents(root):
        lines = path.read_text().split("\n")
        number = 0
        while number < len(lines):
            opened = _FENCE.match(lines[number])
            if opened:
                indent = len(opened["indent"])
                end = next(i for i in range(number + 1, len(lines)) if lines[i].strip().startswith("```"))
                body = "\n".join(line[indent:] for line in lines[number + 1 : end])
                found.append(Example(str(path.relative_to(root)), number + 1, opened["tag"], body + "\n"))
                number = end
            number += 1
    return found


def fresh_copy(destination: Path) -> Path:
    """The project's tracked files, as a fresh clone has them, sharing only the installed .venv."""
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source, target = PROJECT_ROOT / name, destination / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / ".venv").symlink_to((PROJECT_ROOT / ".venv").resolve())
    return destination


def run(example: Example, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """One example in bash, stopping at its first failing command, as a reader's terminal would show it."""
    env = {
        **os.environ,
        # The copy shares the installed .venv: make must not reinstall into it.
        "MAKEFLAGS": "-o .venv/.installed",
    }
    for variable in ("LOCAL_ENDPOINTS_FILE", "LOCAL_LOGS_DIR", "API", "FIX"):
        env.pop(variable, None)  # nothing but what the example sets itself
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", example.script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
