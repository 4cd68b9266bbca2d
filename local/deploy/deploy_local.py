"""`python -m local deploy-local`: `sls deploy` to the embedded emulator, then check what it built.

The same osls, template and zip as a deploy to AWS, pointed at moto through `AWS_ENDPOINT_URL`
with fake credentials. Prints what was verified and what the emulator could not show, and exits
non-zero when something declared is missing or different.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

from local import topology as topology_module
from local.aws.backend import EmulatorBackend
from local.aws.credentials import FAKE_CREDENTIALS, fake_session
from local.aws.emulator import MotoEmulator
from local.deploy.deployment_check import DeploymentCheck
from local.deploy.findings import FAILED, GAP, VERIFIED, Finding
from local.deploy.packaging import PackagingError, run_sls
from local.errors import StackError


def deploy(endpoint: str, stage: str, params: dict[str, str], package_dir: Path | None = None) -> None:
    arguments = ["deploy", "--stage", stage, *(f"--param={k}={v}" for k, v in params.items())]
    if package_dir is not None:
        arguments += ["--package", str(package_dir)]
    env = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        # osls polls the stack every 5 s, sized for AWS; the emulator finishes in well under one.
        "SLS_AWS_MONITORING_FREQUENCY": "200",
    }
    run_sls(arguments, env=env)


def check(endpoint: str, stage: str, params: dict[str, str]) -> list[Finding]:
    session = fake_session("us-east-1", endpoint)
    # The stage as osls resolves it: no environment, the same parameters.
    topology = topology_module.load(stage, env={}, params=params)
    return DeploymentCheck(session.client, topology).run()


def deploy_and_check(
    stage: str, params: dict[str, str], package_dir: Path | None = None, emulator_name: str = "moto"
) -> list[Finding]:
    """Starts the emulator (moto, or ministack with EMULATOR=ministack), deploys, checks and stops it."""
    # Skipped types are reported as gaps below; moto's own warnings, repeated on every read of the
    # stack, would only bury them.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
    emulator: EmulatorBackend = MotoEmulator()
    if emulator_name == "ministack":
        from local.aws.ministack import MinistackEmulator

        emulator = MinistackEmulator()
    endpoint = emulator.start()
    try:
        deploy(endpoint, stage, params, package_dir)
        return check(endpoint, stage, params)
    finally:
        emulator.stop()


def report(findings: list[Finding]) -> str:
    lines = []
    for outcome, title in (
        (VERIFIED, "verified"),
        (GAP, "emulator gaps: declared, reported created by the emulator, not verifiable here"),
        (FAILED, "FAILED"),
    ):
        selected = [f for f in findings if f.outcome == outcome]
        if selected:
            lines.append(f"{title} ({len(selected)}):")
            lines += [f"  {f.subject}: {f.detail}" for f in selected]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local deploy-local", description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a stage parameter")
    parser.add_argument("--package", type=Path, default=None, help="deploy this `sls package` output as is")
    args = parser.parse_args(argv)
    params = dict(p.split("=", 1) for p in args.param)
    began = time.perf_counter()
    emulator = os.environ.get("EMULATOR") or "moto"
    print(f"deploy-local: deploying stage {args.stage} with osls to {emulator}", flush=True)
    try:
        findings = deploy_and_check(args.stage, params, args.package, emulator)
    except (PackagingError, StackError) as error:
        print(f"deploy-local: {error}", file=sys.stderr)
        return 1
    print(report(findings))
    counts = {o: sum(f.outcome == o for f in findings) for o in (VERIFIED, GAP, FAILED)}
    verdict = "failed" if counts[FAILED] else "passed"
    print(
        f"deploy-local: {verdict}: {counts[VERIFIED]} verified, {counts[GAP]} emulator gaps, "
        f"{counts[FAILED]} failed, in {time.perf_counter() - began:.1f} s"
    )
    return 1 if counts[FAILED] else 0
