"""The whole system on one machine, built from serverless.yml.

Start order: the emulator (moto in-process), the Rekognition endpoint, the resources, the webhook
inbox and fixture server, one warm worker per function, the SQS pollers, and last the HTTP
gateway. `.local/endpoints.json` is written once all of it answers and removed on a clean stop.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import webhooks
from local import topology as topology_module
from local.apigateway import api_docs
from local.apigateway.gateway import HttpGateway
from local.apigateway.jwt_auth import JwtVerifier
from local.apigateway.routing import Route
from local.aws.emulator import FAKE_CREDENTIALS, MotoEmulator
from local.aws.iam import LocalIam
from local.aws.provision import Provisioner, allow_origin
from local.aws.warmup import warm_rekognition
from local.console import routes as console_routes
from local.console.operations import local_operations
from local.errors import StackError
from local.functions.pollers import QueueMapping
from local.functions.runtime import FunctionSpec, LambdaRuntime
from local.functions.scaling import ScalingPoller
from local.observability import logs
from local.paths import ENDPOINTS_FILE, FIXTURES_DIR, LOGS_DIR, PROJECT_ROOT, SERVERLESS_YML
from local.rate_limits import TokenBucket
from local.sidecars.fixtures import FixtureServer
from local.sidecars.inbox import WebhookInbox
from local.topology import PhysicalIds, Topology, resolve

logger = logging.getLogger("local.stack")

REKOGNITION_MODES = ("local", "moto", "aws")
# Small, and with a face and text nearby in the fixtures; any JPEG would warm the models.
WARMUP_IMAGE = "chelsea.jpg"
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
            endpoints_file=Path(env.get("LOCAL_ENDPOINTS_FILE") or ENDPOINTS_FILE),
            auth=env.get("AUTH", "none") or "none",
            fixtures_dir=Path(env.get("LOCAL_FIXTURES_DIR") or FIXTURES_DIR),
            log_path=Path(env["LOCAL_LOG_FILE"]) if env.get("LOCAL_LOG_FILE") else None,
            max_workers=int(env.get("LOCAL_MAX_WORKERS") or 0),
            rekognition_tps=float(env.get("REKOGNITION_TPS") or 0),
            serverless_yml=Path(env["LOCAL_SERVERLESS_YML"]) if env.get("LOCAL_SERVERLESS_YML") else None,
            log_dir=LOGS_DIR / "local",
            reload=(env.get("LOCAL_RELOAD") or "0") != "0",
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
        if self.max_workers < 0 or self.rekognition_tps < 0:
            raise StackError("LOCAL_MAX_WORKERS and REKOGNITION_TPS must not be negative")

    @property
    def worker_cap(self) -> int:
        return self.max_workers or os.cpu_count() or 1


@dataclass(frozen=True)
class Endpoints:
    api: str
    aws: str
    rekognition: str
    webhook_inbox: str
    fixtures: str

    def to_json(self) -> dict[str, str]:
        return {
            "api": self.api,
            "aws": self.aws,
            "rekognition": self.rekognition,
            "webhook_inbox": self.webhook_inbox,
            "fixtures": self.fixtures,
        }


class LocalStack:
    def __init__(self, options: StackOptions | None = None, topology: Topology | None = None):
        self.options = options or StackOptions()
        self.options.validate()
        if topology is None:
            where = {"path": self.options.serverless_yml} if self.options.serverless_yml else {}
            topology = topology_module.load(self.options.stage, params={"auth": self.options.auth}, **where)
        self.topology = topology
        enforce = self.options.enforce_iam and self.options.emulator == "moto" and self.options.rekognition != "aws"
        self.iam: LocalIam | None = LocalIam(MotoEmulator.account_id) if enforce else None
        self.emulator: Any = None
        self.rekognition_process: subprocess.Popen[str] | None = None
        self._rekognition_models_ready = threading.Event()
        self._rekognition_warming: _Background | None = None
        self.rekognition_url = ""
        self.inbox: WebhookInbox | None = None
        self.fixtures: FixtureServer | None = None
        self.runtime: LambdaRuntime | None = None
        self.reloader: Any = None
        self.pollers: list[ScalingPoller] = []
        self.gateway: HttpGateway | None = None
        self.ids: PhysicalIds | None = None
        self.endpoints: Endpoints | None = None
        self.webhook_secret = self.options.webhook_secret or webhooks.generate_secret()
        # Lets the console (and only a page the stack served) call the local-only routes.
        self.console_token = secrets.token_urlsafe(24)
        self.started_in = 0.0
        self._rekognition_denials: list[str] = []
        self.rekognition_warmup_ms: float | None = None  # set once a warm-up call was served, before ready
        self.access_log: logs.JsonLinesLog | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Endpoints:
        began = time.perf_counter()
        if self.options.log_dir is not None:
            logs.start_afresh(self.options.log_dir)
        try:
            self._start(began)
        except BaseException:
            self.stop()
            raise
        return self.endpoints  # type: ignore[return-value]

    def _start(self, began: float) -> None:
        if self.options.emulator == "ministack":
            self._start_deployed(began)
            return
        # The workers take the longest to start (a Python process and its imports each), so they
        # start first, on the endpoint and resource ids the emulator will have, while the
        # emulator starts and the resources are created. An emulator that cannot say its
        # endpoint before it runs (LocalStack's port is mapped at start) is started first.
        self.emulator = self._make_emulator()
        aws = getattr(self.emulator, "planned_endpoint", None) or self.emulator.start()
        self.rekognition_url = self._rekognition_endpoint(aws)
        # Its models take the longest to load and depend on nothing else here: they load while
        # the rest starts, and `ready` waits for them (_warm_rekognition).
        self._start_rekognition(aws)
        self.inbox = WebhookInbox(self.webhook_secret)
        self.inbox.start()
        self.fixtures = FixtureServer(self.options.fixtures_dir)
        self.fixtures.start()

        session = self._start_workers_and_resources(aws, began)
        self._wait_for_rekognition()
        self._start_pollers(session)

        routes = [Route(r.method, r.path, r.function, r.authorizer) for r in self.topology.routes]
        self.gateway = HttpGateway(
            routes,
            self.runtime.invoke,
            port=self.options.api_port,
            extra_handlers={**api_docs.extra_handlers(), **self._console_handlers(session)},
            authorizers=self._authorizers(aws),
            throttle=self._api_throttle(),
            access_log=self._access_log(),
        )
        api = self.gateway.start().rstrip("/")
        for bucket in self.topology.buckets:
            allow_origin(session.client("s3"), self.physical(bucket.logical_id), api)
        self._warmed_rekognition()
        self.endpoints = Endpoints(
            api=api,
            aws=aws,
            rekognition=self.rekognition_url,
            webhook_inbox=self.webhook_target(),
            fixtures=self.fixtures.url.rstrip("/"),
        )
        if self.options.reload:
            from local.functions.reload import HotReloader  # the watcher's imports only when it runs

            self.reloader = HotReloader(self.runtime, serverless_yml=self.options.serverless_yml or SERVERLESS_YML)
            self.reloader.start()
        self._ready(began)

    def _ready(self, began: float) -> None:
        assert self.endpoints is not None
        if self.options.write_endpoints:
            self.options.endpoints_file.parent.mkdir(parents=True, exist_ok=True)
            self.options.endpoints_file.write_text(json.dumps(self.endpoints.to_json(), indent=2) + "\n")
        self.started_in = time.perf_counter() - began
        self._progress("ready", began)

    def _start_deployed(self, began: float) -> None:
        """EMULATOR=ministack: osls deploys the real template and zip; ministack runs the functions."""
        from local.apigateway.host_proxy import HostProxy
        from local.aws.ministack import MinistackEmulator
        from local.deploy.ministack_deploy import add_environment, deploy_stack, discard_startup_messages

        if self.options.rekognition == "moto":
            # ministack has no Rekognition of its own: the local service stands in for moto's.
            self.options.rekognition = "local"
        self.emulator = MinistackEmulator(log_path=self.functions_log)
        aws = self.emulator.start()
        self._progress(f"emulator (ministack) at {aws}", began)
        self.rekognition_url = self._rekognition_endpoint(aws)
        self.inbox = WebhookInbox(self.webhook_secret)
        self.inbox.start()
        self.fixtures = FixtureServer(self.options.fixtures_dir)
        self.fixtures.start()
        session = self.session()
        self._store_webhook_secret(session)
        allowed = self.options.fetch_allowlist
        params = {
            "webhookUrl": self.webhook_target(),
            "fetchAllowlist": self.fixtures.address if allowed is None else allowed,
            "auth": self.options.auth,
        }
        deployed = deploy_stack(aws, session, self.topology, params)
        self.ids = deployed.ids
        self._progress(f"deployed {len(deployed.ids.refs)} resources with osls", began)
        for name, deployed_name in deployed.functions.items():
            extra = dict(self.options.function_environment.get(name, {}))
            extra["AWS_ENDPOINT_URL_REKOGNITION"] = self.rekognition_url
            add_environment(session, deployed_name, extra)
        discard_startup_messages(session, [self.ids.refs[trigger.queue] for trigger in self.topology.sqs_triggers])
        self._start_rekognition(aws)
        self._wait_for_rekognition()
        self.gateway = HostProxy(aws, f"{deployed.api_id}.execute-api.localhost", self.options.api_port)
        self.endpoints = Endpoints(
            api=self.gateway.start(),
            aws=aws,
            rekognition=self.rekognition_url,
            webhook_inbox=self.webhook_target(),
            fixtures=self.fixtures.url.rstrip("/"),
        )
        self._ready(began)

    def _console_handlers(self, session: Any) -> dict[str, Any]:
        sqs = session.client("sqs")
        operations = local_operations(self.topology, self.inbox, sqs, self.physical)
        return console_routes.extra_handlers(self.console_token, operations)

    def _start_workers_and_resources(self, aws: str, began: float) -> Any:
        """Workers warm on the planned ids while the emulator starts and the resources are created."""
        planned = Provisioner(self.topology, None, account_id=self.emulator.account_id).plan(aws)
        if self.iam is not None:
            # Before anything is created: a role or policy the layer cannot enforce stops the start.
            self.topology = self.iam.configure(self.topology, planned)
        runtime = self._start_runtime(self._function_specs(planned))
        if not self.emulator.endpoint:
            if self.emulator.start() != aws:
                raise StackError(f"the emulator listens on {self.emulator.endpoint}, not {aws}")
        self._progress(f"emulator ({self.emulator.name}) at {aws}", began)
        session = self.session()
        self.ids = Provisioner(self.topology, session, account_id=self.emulator.account_id).provision()
        if self.iam is not None:
            self.iam.configure(self.topology, self.ids)
        self._store_webhook_secret(session)
        # The bucket exists now: warm Rekognition while the workers finish starting.
        self._rekognition_warming = _Background(lambda: self._warm_rekognition(began), "rekognition-warmup")
        self._progress(f"provisioned {self._resource_summary()}", began)
        runtime.wait_started()
        actual = self._function_specs(self.ids)
        if actual != runtime.specs:
            # The emulator named something differently than planned: start over with the real ids.
            runtime.stop()
            self._start_runtime(actual).wait_started()
        self._progress(f"{len(self.topology.functions)} functions warm", began)
        return session

    def _start_pollers(self, session: Any) -> None:
        """One scaling poller per SQS event source, up to the function's concurrency, as on AWS."""
        assert self.ids is not None and self.runtime is not None
        for trigger in self.topology.sqs_triggers:
            # Lambda's event source mapping receives and deletes with the function's role.
            role_session = self.iam.session(trigger.function, self.topology.region) if self.iam else None

            def make_client(role_session: Any = role_session) -> Any:
                if role_session is not None:
                    return role_session.client("sqs", endpoint_url=session.endpoint)
                return session.client("sqs")

            poller = ScalingPoller(
                make_client(),
                QueueMapping(
                    function_name=trigger.function,
                    queue_url=self.ids.refs[trigger.queue],
                    queue_arn=self.ids.attributes[(trigger.queue, "Arn")],
                    batch_size=trigger.batch_size,
                    maximum_batching_window=trigger.maximum_batching_window,
                    report_batch_item_failures=trigger.report_batch_item_failures,
                ),
                self.runtime.invoke,
                max_pollers=self.runtime.concurrency(trigger.function),
                region=self.topology.region,
                wait_seconds=self.options.poll_wait_seconds,
                make_client=make_client,
            )
            poller.start()
            self.pollers.append(poller)

    def _start_runtime(self, specs: list[FunctionSpec]) -> _StartingRuntime:
        runtime = _StartingRuntime(
            specs,
            project_root=PROJECT_ROOT,
            base_env=self._base_environment(),
            region=self.topology.region,
            account_id=self.emulator.account_id,
            log_path=self.functions_log,
        )
        self.runtime = runtime  # so that stop() reaps its workers whatever happens next
        runtime.start_in_background()
        return runtime

    def stop(self) -> None:
        if self.options.write_endpoints and self.endpoints is not None:
            self.options.endpoints_file.unlink(missing_ok=True)
        if self.reloader is not None:
            self.reloader.stop()
            self.reloader = None
        if self.gateway is not None:
            self.gateway.stop()
        if self.access_log is not None:
            self.access_log.close()
            self.access_log = None
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        if self.runtime is not None:
            self.runtime.stop()
        for server in (self.inbox, self.fixtures):
            if server is not None:
                server.stop()
        self.inbox = self.fixtures = self.gateway = self.runtime = None
        self._stop_rekognition()
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- helpers for callers -------------------------------------------------------------------------
    def session(self) -> Any:
        """A boto3 session for the emulator, with fake credentials."""
        import boto3

        return _EndpointSession(
            boto3.session.Session(
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                region_name=self.topology.region,
            ),
            self.emulator.endpoint,
        )

    @property
    def functions_log(self) -> Path | None:
        if self.options.log_path is not None or self.options.log_dir is None:
            return self.options.log_path
        return self.options.log_dir / logs.FUNCTIONS_LOG

    def webhook_target(self) -> str:
        return self.options.webhook_url or (self.inbox.url if self.inbox else "")

    def physical(self, logical_id: str) -> str:
        assert self.ids is not None, "start() the stack first"
        return self.ids.refs[logical_id]

    # --- parts ------------------------------------------------------------------------------------------
    def _make_emulator(self) -> Any:
        if self.options.emulator == "localstack":
            from local.aws.localstack import LocalStackEmulator

            return LocalStackEmulator()
        if self.iam is None:
            return MotoEmulator()
        return MotoEmulator(wrap=self.iam.guard.wrap, post_secret=self.iam.guard.secret_of)

    def problems(self) -> list[str]:
        """Deliveries dropped and calls denied by the IAM and resource policies, oldest first."""
        return [*(self.iam.problems() if self.iam else []), *self._rekognition_denials]

    def _access_log(self) -> logs.JsonLinesLog | None:
        if self.options.log_dir is None:
            return None
        self.access_log = logs.JsonLinesLog(self.options.log_dir / logs.API_LOG)
        return self.access_log

    def _rekognition_endpoint(self, aws_endpoint: str) -> str:
        if self.options.rekognition == "moto" and not self.options.rekognition_tps:
            return aws_endpoint
        if self.options.rekognition == "aws":
            return f"https://rekognition.{self.topology.region}.amazonaws.com"
        # The port is chosen now, so the functions' environment can name the service before it listens.
        return f"http://127.0.0.1:{_free_port()}"

    def _start_rekognition(self, aws_endpoint: str) -> None:
        tps = self.options.rekognition_tps
        if self.options.rekognition == "aws" or self.rekognition_url == aws_endpoint:
            return
        port = self.rekognition_url.rsplit(":", 1)[1]
        command = [sys.executable, "-m", "local", "rekognition", "--port", port]
        if self.options.rekognition == "moto":
            # moto's canned answer behind the quota (local/rekognition/quota_proxy.py).
            command += ["--upstream", aws_endpoint]
        if tps:
            command += ["--tps", str(tps)]
        if self.options.rekognition_fail_rate:
            command += ["--fail-rate", str(self.options.rekognition_fail_rate)]
        if self.options.rekognition == "local":
            # Only the models of the features recognize uses load before ready; others on first use.
            # lib/config.py always adds labels to the features.
            command += ["--features", ",".join(sorted({"labels", *self._recognition_features()}))]
        env = {
            **os.environ,
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": aws_endpoint,
            "AWS_DEFAULT_REGION": self.topology.region,
        }
        if self.iam is not None:
            env["LOCAL_CALLER_SECRETS"] = self.iam.caller_secrets()
            env["LOCAL_CALLER_REKOGNITION"] = self.iam.caller_rekognition()
        self.rekognition_process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=None if self.options.log_path is None else subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )

    def _wait_for_rekognition(self, timeout: float = 30.0) -> None:
        """Waits for the service to listen; its models keep warming in the background."""
        if self.rekognition_process is None:
            return
        assert self.rekognition_process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.rekognition_process.stdout.readline()
            if not line:
                raise StackError(f"the local Rekognition service exited with code {self.rekognition_process.wait()}")
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                if match.group(1).rstrip("/") != self.rekognition_url:
                    raise StackError(
                        f"the local Rekognition service listens on {match.group(1)}, not {self.rekognition_url}"
                    )
                # Keep draining its stdout so the service never blocks on a full pipe.
                threading.Thread(
                    target=_drain,
                    args=(self.rekognition_process.stdout, self._rekognition_denials, self._rekognition_models_ready),
                    daemon=True,
                ).start()
                return
        raise StackError("the local Rekognition service did not start listening within 30 s")

    def _warmed_rekognition(self) -> None:
        if self._rekognition_warming is not None:
            self._rekognition_warming.join()

    def _recognition_features(self) -> list[str]:
        """RECOGNITION_FEATURES of the recognize function, as serverless.yml sets it for the stage."""
        declared = next(
            (f.environment.get("RECOGNITION_FEATURES", "") for f in self.topology.functions if f.name == "recognize"),
            "",
        )
        return [name.strip() for name in str(declared).split(",") if name.strip()]

    def _warm_rekognition(self, began: float, timeout: float = 120.0) -> None:
        """`ready` means a recognition call is served warm: the models loaded, and each used once."""
        if self.options.rekognition != "local":
            return  # moto answers at once; real Rekognition is AWS's to keep warm, and bills each call
        if not self._rekognition_models_ready.wait(timeout):
            raise StackError(f"the local Rekognition service did not load its models within {timeout:.0f} s")
        features = self._recognition_features()
        session = self.session()
        took = warm_rekognition(
            session.client("rekognition", endpoint_url=self.rekognition_url),
            session.client("s3"),
            self.physical("ImagesBucket"),
            FIXTURES_DIR / WARMUP_IMAGE,
            features,
        )
        self.rekognition_warmup_ms = took
        self._progress(f"rekognition warm (one call of each operation: {took:.0f} ms)", began)

    def _stop_rekognition(self) -> None:
        process, self.rekognition_process = self.rekognition_process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _store_webhook_secret(self, session: Any) -> None:
        """The deliver function reads its secret from SSM, on AWS and here alike."""
        for function in self.topology.functions:
            name = function.environment.get("WEBHOOK_SECRET_PARAMETER")
            if name:
                session.client("ssm").put_parameter(
                    Name=name, Value=self.webhook_secret, Type="SecureString", Overwrite=True
                )

    def _base_environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "AWS_REGION": self.topology.region,
                "AWS_DEFAULT_REGION": self.topology.region,
                # Planned before the emulator listens: the workers start while it starts.
                "AWS_ENDPOINT_URL": self.emulator.endpoint or getattr(self.emulator, "planned_endpoint", ""),
                "POWERTOOLS_DEV": os.environ.get("POWERTOOLS_DEV", "false"),
                # No X-Ray daemon here: `python -m local trace` follows an image from the logs instead.
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        if self.options.rekognition == "aws":
            # Real Rekognition needs the caller's real credentials; the emulator accepts any.
            env.update({k: v for k, v in os.environ.items() if k.startswith("AWS_") and "ENDPOINT" not in k})
            env["AWS_ENDPOINT_URL_REKOGNITION"] = self.rekognition_url
        else:
            env.update(FAKE_CREDENTIALS)
            env["AWS_ENDPOINT_URL_REKOGNITION"] = self.rekognition_url
        return env

    def _function_specs(self, ids: PhysicalIds) -> list[FunctionSpec]:
        assert self.fixtures is not None
        specs = []
        for function in self.topology.functions:
            environment = {k: str(v) for k, v in resolve(dict(function.environment), ids).items()}
            # Values only the running stack knows: its inbox, and its fixture server as the one
            # private address the fetcher may reach.
            if "WEBHOOK_URL" in environment and not environment["WEBHOOK_URL"]:
                environment["WEBHOOK_URL"] = self.webhook_target()
            if "FETCH_ALLOWLIST" in environment and not environment["FETCH_ALLOWLIST"]:
                allowed = self.options.fetch_allowlist
                environment["FETCH_ALLOWLIST"] = self.fixtures.address if allowed is None else allowed
            environment.update(self.options.function_environment.get(function.name, {}))
            if self.iam is not None:
                environment.update(self.iam.function_environment(function.name))
            limit = self.topology.concurrency_limit(function.name)
            specs.append(
                FunctionSpec(
                    name=function.name,
                    handler=function.handler,
                    timeout=function.timeout,
                    memory_mb=function.memory_mb,
                    environment=environment,
                    concurrency=min(limit or self.options.worker_cap, self.options.worker_cap),
                )
            )
        return specs

    def _api_throttle(self) -> TokenBucket | None:
        limits = self.topology.api_throttle if self.options.api_throttle is None else self.options.api_throttle
        return TokenBucket(*limits) if limits else None

    def _authorizers(self, aws_endpoint: str) -> dict[str, JwtVerifier]:
        """The template's JWT authorizers, checking tokens against the emulator's Cognito keys."""
        assert self.ids is not None
        authorizers = {}
        for spec in self.topology.authorizers:
            issuer = resolve(spec.issuer, self.ids)
            # On AWS the keys are at <issuer>/.well-known/jwks.json; the emulator serves them per pool.
            pool_id = issuer.rstrip("/").rsplit("/", 1)[1]
            authorizers[spec.name] = JwtVerifier(
                issuer=issuer,
                audience=[resolve(audience, self.ids) for audience in spec.audience],
                jwks_url=f"{aws_endpoint}/{pool_id}/.well-known/jwks.json",
                identity_source=spec.identity_source,
            )
        return authorizers

    def _resource_summary(self) -> str:
        t = self.topology
        return (
            f"{len(t.buckets)} bucket, {len(t.topics)} topics, {len(t.queues)} queues, "
            f"{len(t.subscriptions)} subscriptions, {len(t.tables)} table"
        )

    @staticmethod
    def _progress(message: str, began: float) -> None:
        logger.info("%6.0f ms  %s", (time.perf_counter() - began) * 1000, message)


class _Background:
    """A function run on a thread of its own; `join` waits for it and raises what it raised."""

    def __init__(self, function: Any, name: str):
        self._function = function
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._function()
        except BaseException as error:  # re-raised on the caller's thread by join
            self._error = error

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


class _StartingRuntime(LambdaRuntime):
    """A runtime started on a background thread; `wait_started` joins it and raises what start raised."""

    def __init__(self, specs: list[FunctionSpec], **kwargs: Any):
        super().__init__(specs, **kwargs)
        self.specs = specs
        self._starting: _Background | None = None

    def start_in_background(self) -> None:
        self._starting = _Background(self.start, "runtime-start")

    def wait_started(self) -> None:
        assert self._starting is not None, "start_in_background() first"
        self._starting.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _EndpointSession:
    """A boto3 session whose clients all talk to one endpoint."""

    def __init__(self, session: Any, endpoint: str):
        self._session = session
        self.endpoint = endpoint

    def client(self, service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint)
        return self._session.client(service, **kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        return self._session.resource(service, endpoint_url=self.endpoint, **kwargs)


def _drain(stream: Any, denials: list[str], models_ready: threading.Event) -> None:
    for line in stream:
        if "models ready" in line:
            models_ready.set()
        logger.debug("rekognition: %s", line.rstrip())
        if line.startswith("IAM denied: "):
            denials.append(line.removeprefix("IAM denied: ").rstrip())
