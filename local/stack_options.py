"""What a local stack is asked to be: its options, from the environment `make local` sets, or from a test."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lib.config import RECOGNITION_FEATURES
from local.endpoints import endpoints_file
from local.errors import StackError
from local.observability.runs import logs_root, run_directory
from local.paths import ENDPOINTS_FILE, FIXTURES_DIR

REKOGNITION_MODES = ("local", "moto", "aws")
EMULATORS = ("moto", "localstack", "ministack")
AUTH_MODES = ("none", "cognito")


@dataclass
class StackOptions:
    stage: str = "local"
    emulator: str = "moto"
    rekognition: str = "local"
    fixtures_dir: Path = FIXTURES_DIR
    # Where webhooks go; None means the stack's own inbox.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Extra environment per function name, after serverless.yml's: tests shorten retry delays with it.
    function_environment: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    api_port: int = 0
    # The functions' log; None means log_dir's functions.log, or the terminal when that is None too.
    log_path: Path | None = None
    # Where the run's logs are kept after it stops (functions and API access log), started afresh.
    log_dir: Path | None = None
    write_endpoints: bool = True
    endpoints_file: Path = ENDPOINTS_FILE
    # Long-poll length: a receive returns as soon as a message arrives; this bounds how long a stop waits.
    poll_wait_seconds: int = 1
    rekognition_fail_rate: float = 0.0
    # The private addresses the fetcher may reach: None means the stack's fixture server, "" none at
    # all (as on a deployed stage), anything else is taken as the stage's fetchAllowlist.
    fetch_allowlist: str | None = None
    # The private addresses a subscribed webhook endpoint may use, over http: None means the stack's
    # inbox (its named receivers), "" none at all (as on a deployed stage); else the stage's
    # webhookAllowlist.
    webhook_allowlist: str | None = None
    # serverless.yml's `auth` stage parameter: "cognito" puts the API routes behind the JWT
    # authorizer, with a user pool in the emulator; off by default, as in serverless.yml.
    auth: str = "none"
    # Limits (docs/scaling.md). Workers per function at most: the event source's MaximumConcurrency
    # or the function's reserved concurrency, capped by this; 0 means the number of cores.
    max_workers: int = 0
    # Rekognition's per-operation TPS quota, for REKOGNITION=local or moto; 0 leaves it off.
    rekognition_tps: float = 0.0
    # The HTTP API throttle (rate, burst): None takes serverless.yml's, () turns it off.
    api_throttle: tuple[float, int] | tuple[()] | None = None
    # Each function calls AWS as its own role, checked as AWS checks it (local/aws/iam/). Off only
    # where the emulator cannot be wrapped (LocalStack) or Rekognition is real (REKOGNITION=aws).
    enforce_iam: bool = True
    # serverless.yml's `recognitionFeatures` stage parameter (FEATURES): None keeps the file's default.
    recognition_features: str | None = None
    # serverless.yml's `dedupe` stage parameter (DEDUPE=on|off): None keeps the file's default.
    dedupe: str | None = None
    # serverless.yml's `webhookDisableAfterSeconds` (WEBHOOK_DISABLE_AFTER_SECONDS): how long an
    # endpoint fails before it is disabled; None keeps the file's 5 days, tests set a few seconds.
    webhook_disable_after_seconds: int | None = None
    serverless_yml: Path | None = None
    # A save under handlers/ or lib/ replaces the affected functions' workers (make local turns it on).
    reload: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StackOptions:
        options = cls(
            emulator=env.get("EMULATOR", "moto") or "moto",
            rekognition=env.get("REKOGNITION", "local") or "local",
            webhook_url=env.get("WEBHOOK_URL") or None,
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            api_port=int(env.get("API_PORT", "0") or 0),
            endpoints_file=endpoints_file(env),
            auth=env.get("AUTH", "none") or "none",
            fixtures_dir=Path(env.get("LOCAL_FIXTURES_DIR") or FIXTURES_DIR),
            log_path=Path(env["LOCAL_LOG_FILE"]) if env.get("LOCAL_LOG_FILE") else None,
            max_workers=int(env.get("LOCAL_MAX_WORKERS") or 0),
            rekognition_tps=float(env.get("REKOGNITION_TPS") or 0),
            serverless_yml=Path(env["LOCAL_SERVERLESS_YML"]) if env.get("LOCAL_SERVERLESS_YML") else None,
            # A directory per run (local/observability/runs.py), created as the run begins.
            log_dir=run_directory(logs_root(env)),
            reload=(env.get("LOCAL_RELOAD") or "0") != "0",
            recognition_features=env.get("FEATURES") or None,
            dedupe=env.get("DEDUPE") or None,
            webhook_disable_after_seconds=_seconds(env, "WEBHOOK_DISABLE_AFTER_SECONDS"),
        )
        options.validate()
        return options

    def validate(self) -> None:
        if self.rekognition not in REKOGNITION_MODES:
            raise StackError(f"REKOGNITION must be one of {', '.join(REKOGNITION_MODES)}; got {self.rekognition!r}")
        if self.emulator not in EMULATORS:
            raise StackError(f"EMULATOR must be one of {', '.join(EMULATORS)}; got {self.emulator!r}")
        if self.auth not in AUTH_MODES:
            raise StackError(f"AUTH must be one of {', '.join(AUTH_MODES)}; got {self.auth!r}")
        if self.recognition_features is not None:
            unknown = set(features(self.recognition_features)) - RECOGNITION_FEATURES
            if unknown:
                raise StackError(
                    f"FEATURES has unknown entries {sorted(unknown)}; known: {', '.join(sorted(RECOGNITION_FEATURES))}"
                )
        if self.dedupe not in (None, "on", "off"):
            raise StackError(f"DEDUPE must be on or off; got {self.dedupe!r}")
        if self.webhook_disable_after_seconds is not None and self.webhook_disable_after_seconds < 1:
            raise StackError("WEBHOOK_DISABLE_AFTER_SECONDS must be at least 1")
        if self.max_workers < 0 or self.rekognition_tps < 0:
            raise StackError("LOCAL_MAX_WORKERS and REKOGNITION_TPS must not be negative")

    def stage_params(self) -> dict[str, str]:
        """The stage parameters these options set, as `sls --param` would: auth, and the features,
        dedupe and endpoints' disable span if chosen."""
        params = {"auth": self.auth}
        if self.recognition_features is not None:
            params["recognitionFeatures"] = ",".join(features(self.recognition_features))
        if self.dedupe is not None:
            params["dedupe"] = self.dedupe
        if self.webhook_disable_after_seconds is not None:
            params["webhookDisableAfterSeconds"] = str(self.webhook_disable_after_seconds)
        return params

    @property
    def worker_cap(self) -> int:
        return self.max_workers or os.cpu_count() or 1


def _seconds(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise StackError(f"{name} must be a whole number of seconds; got {raw!r}")
    return int(raw)


def features(listed: str) -> list[str]:
    """`labels, faces` -> ["labels", "faces"]: the names of a comma-separated list, blanks dropped."""
    return [name.strip() for name in listed.split(",") if name.strip()]
