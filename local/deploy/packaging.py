"""Runs osls (the open-source Serverless Framework pinned in package.json) and reads what it wrote.

`python -m local artifacts [DIR]` reports each function's zip and its size, and fails when one is
over the limit; `make package` runs it after `sls package`.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.paths import PROJECT_ROOT, STATE_DIR

SLS = PROJECT_ROOT / "node_modules" / ".bin" / "sls"
TEMPLATE_FILE = "cloudformation-template-update-stack.json"
STATE_FILE = "serverless-state.json"
# osls's requirements plugin stages each run's pip install in the project's .serverless/requirements,
# whatever --package says: two runs at once (parallel tests, `make package` beside a ministack stack)
# delete each other's files. This lock lets one run at a time.
SLS_LOCK = STATE_DIR / "sls.lock"
# Lambda takes up to 50 MB; a small zip keeps cold starts and deploys quick, and a jump past this
# means something was bundled by mistake (node_modules, boto3, test data).
MAX_ZIP_BYTES = 2 * 1024 * 1024


class PackagingError(RuntimeError):
    """osls failed or left no package; the message says what to do."""


def sls_environment(extra: Mapping[str, str] | None = None, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment osls runs in: the requirements plugin's pip is this project's Python."""
    env = dict(base)
    env.setdefault("SLS_PYTHON", sys.executable)
    env.update(extra or {})
    return env


def run_sls(arguments: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if not SLS.exists():
        raise PackagingError("node_modules is missing: run `npm ci` (make does it for you)")
    SLS_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with SLS_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        result = subprocess.run(
            [str(SLS), *arguments], cwd=PROJECT_ROOT, env=sls_environment(env), capture_output=True, text=True
        )
    if result.returncode != 0:
        raise PackagingError(f"sls {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
    return result


def package(stage: str, directory: Path, params: Mapping[str, str] | None = None) -> Package:
    """`sls package` for one stage into `directory`, with `--param` overrides."""
    arguments = ["package", "--stage", stage, "--package", str(directory)]
    arguments += [f"--param={name}={value}" for name, value in (params or {}).items()]
    run_sls(arguments)
    return Package.read(directory)


@dataclass(frozen=True)
class Package:
    directory: Path
    service: str
    stage: str
    template: dict[str, Any]

    @classmethod
    def read(cls, directory: Path) -> Package:
        template_path, state_path = directory / TEMPLATE_FILE, directory / STATE_FILE
        if not template_path.exists() or not state_path.exists():
            raise PackagingError(f"{directory} holds no package: run `make package` first")
        state = json.loads(state_path.read_text())["service"]
        return cls(
            directory=directory,
            service=state["service"],
            stage=state["provider"]["stage"],
            template=json.loads(template_path.read_text()),
        )

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}

    def functions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Function name as in serverless.yml -> (logical id, resource)."""
        prefix = f"{self.service}-{self.stage}-"
        found = {}
        for logical_id, resource in self.resources("AWS::Lambda::Function").items():
            name = resource["Properties"]["FunctionName"]
            found[name.removeprefix(prefix)] = (logical_id, resource)
        return found

    def artifacts(self) -> dict[str, Path]:
        """Function name -> the zip it is deployed from (the same zip when packaged together)."""
        return {
            name: self.directory / Path(resource["Properties"]["Code"]["S3Key"]).name
            for name, (_, resource) in self.functions().items()
        }


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else PROJECT_ROOT / ".serverless"
    try:
        packaged = Package.read(directory)
    except PackagingError as error:
        print(f"artifacts: {error}", file=sys.stderr)
        return 1
    too_big = False
    print(f"{packaged.service} ({packaged.stage}): each function's zip, {MAX_ZIP_BYTES / 2**20:.0f} MB at most")
    for name, artifact in sorted(packaged.artifacts().items()):
        size = artifact.stat().st_size
        too_big |= size >= MAX_ZIP_BYTES
        verdict = "ok" if size < MAX_ZIP_BYTES else "TOO BIG"
        print(f"  {name:<12} {artifact.relative_to(directory)}  {size / 2**20:.2f} MB  {verdict}")
    return 1 if too_big else 0
