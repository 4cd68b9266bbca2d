"""The whole system on one machine, built from serverless.yml.

Start order: the emulator (moto in-process), the Rekognition endpoint, the resources, the webhook
inbox and fixture server, one warm worker per function, the SQS pollers, and last the HTTP
gateway. The endpoints file (local/endpoints.py) is written once all of it answers and removed on a
clean stop.

This module composes the parts, each an object of its own given what it needs: the options
(local/stack_options.py), the Rekognition endpoint (local/sidecars/rekognition_service.py), the
functions' configuration (local/functions/configuration.py), the emulator (local/aws/, behind
local/aws/backend.py's EmulatorBackend) and the gateway (local/apigateway/).
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any

from lib.domain import webhooks
from local import topology as topology_module
from local.apigateway import api_docs
from local.apigateway.gateway import HttpGateway
from local.apigateway.jwt_auth import JwtVerifier
from local.apigateway.routing import Route
from local.aws.backend import EmulatorBackend
from local.aws.credentials import fake_session
from local.aws.emulator import MotoEmulator
from local.aws.iam import LocalIam
from local.aws.provision import Provisioner, allow_origin
from local.console import routes as console_routes
from local.console.operations import local_operations
from local.endpoints import Endpoints, write_endpoints
from local.errors import StackError
from local.functions.background import StartingRuntime
from local.functions.configuration import FunctionConfiguration
from local.functions.event_sources import start_pollers
from local.functions.runtime import FunctionSpec, LambdaRuntime
from local.functions.scaling import ScalingPoller
from local.observability import logs
from local.paths import PROJECT_ROOT, SERVERLESS_YML
from local.rate_limits import TokenBucket
from local.sidecars.fixtures import FixtureServer
from local.sidecars.inbox import WebhookInbox
from local.sidecars.rekognition_service import RekognitionSidecar
from local.stack_options import StackOptions
from local.topology import PhysicalIds, Topology, resolve

logger = logging.getLogger("local.stack")


class LocalSystem:
    def __init__(self, options: StackOptions | None = None, topology: Topology | None = None):
        self.options = options or StackOptions()
        self.options.validate()
        if topology is None:
            where = {"path": self.options.serverless_yml} if self.options.serverless_yml else {}
            topology = topology_module.load(self.options.stage, params=self.options.stage_params(), **where)
        self.topology = topology
        enforce = self.options.enforce_iam and self.options.emulator == "moto" and self.options.rekognition != "aws"
        self.iam: LocalIam | None = LocalIam(MotoEmulator.account_id) if enforce else None
        self.emulator: EmulatorBackend | None = None
        self.rekognition = RekognitionSidecar(self.options, self.topology, self.iam, self._progress)
        # Built once the IAM layer configured the topology (_start_workers_and_resources).
        self.functions: FunctionConfiguration | None = None
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
        emulator = self.emulator = self._make_emulator()
        aws = emulator.planned_endpoint or emulator.start()
        self.rekognition.plan(aws)
        # Its models take the longest to load and depend on nothing else here: they load, and are
        # warmed with one call, while the rest starts; `ready` waits for them (wait_warm below).
        self.rekognition.start(aws)
        self.rekognition.warm_in_background(began)
        self.inbox = WebhookInbox(self.webhook_secret)
        self.inbox.start()
        self.fixtures = FixtureServer(self.options.fixtures_dir)
        self.fixtures.start()

        session = self._start_workers_and_resources(emulator, aws, began)
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
        self.rekognition.wait_warm()
        self.endpoints = Endpoints(
            api=api,
            aws=aws,
            rekognition=self.rekognition.url,
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
            write_endpoints(self.options.endpoints_file, self.endpoints)
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
        self.rekognition.plan(aws)
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
            "webhookAllowlist": self.inbox.address
            if self.options.webhook_allowlist is None
            else self.options.webhook_allowlist,
            **self.options.stage_params(),
        }
        deployed = deploy_stack(aws, session, self.topology, params)
        self.ids = deployed.ids
        self._progress(f"deployed {len(deployed.ids.refs)} resources with osls", began)
        for name, deployed_name in deployed.functions.items():
            extra = dict(self.options.function_environment.get(name, {}))
            extra["AWS_ENDPOINT_URL_REKOGNITION"] = self.rekognition.url
            add_environment(session, deployed_name, extra)
        discard_startup_messages(session, [self.ids.refs[trigger.queue] for trigger in self.topology.sqs_triggers])
        self.rekognition.start(aws)
        self.rekognition.wait_listening()
        self.gateway = HostProxy(aws, f"{deployed.api_id}.execute-api.localhost", self.options.api_port)
        self.endpoints = Endpoints(
            api=self.gateway.start(),
            aws=aws,
            rekognition=self.rekognition.url,
            webhook_inbox=self.webhook_target(),
            fixtures=self.fixtures.url.rstrip("/"),
        )
        self._ready(began)

    def _console_handlers(self, session: Any) -> dict[str, Any]:
        sqs = session.client("sqs")
        cognito = session.client("cognito-idp") if self.topology.user_pools else None
        operations = local_operations(self.topology, self.inbox, sqs, self.physical, cognito)
        return console_routes.extra_handlers(self.console_token, operations)

    def _start_workers_and_resources(self, emulator: EmulatorBackend, aws: str, began: float) -> Any:
        """Workers warm on the planned ids while the emulator starts and the resources are created."""
        assert self.fixtures is not None
        planned = Provisioner(self.topology, None, account_id=emulator.account_id).plan(aws)
        if self.iam is not None:
            # Before anything is created: a role or policy the layer cannot enforce stops the start.
            self.topology = self.iam.configure(self.topology, planned)
        functions = self.functions = FunctionConfiguration(
            self.options,
            self.topology,
            self.iam,
            aws_endpoint=aws,
            rekognition_url=self.rekognition.url,
            webhook_url=self.webhook_target(),
            fixtures_address=self.fixtures.address,
            inbox_address=self.inbox.address if self.inbox else "",
        )
        runtime = self._start_runtime(functions.specs(planned), functions, emulator.account_id)
        if not emulator.endpoint:
            if emulator.start() != aws:
                raise StackError(f"the emulator listens on {emulator.endpoint}, not {aws}")
        self._progress(f"emulator ({emulator.name}) at {aws}", began)
        session = self.session()
        self.ids = Provisioner(self.topology, session, account_id=emulator.account_id).provision()
        if self.iam is not None:
            self.iam.configure(self.topology, self.ids)
        self._store_webhook_secret(session)
        self._progress(f"provisioned {self._resource_summary()}", began)
        runtime.wait_started()
        actual = functions.specs(self.ids)
        if actual != runtime.specs:
            # The emulator named something differently than planned: start over with the real ids.
            runtime.stop()
            self._start_runtime(actual, functions, emulator.account_id).wait_started()
        self._progress(f"{len(self.topology.functions)} functions warm", began)
        return session

    def _start_pollers(self, session: Any) -> None:
        """One scaling poller per SQS event source, up to the function's concurrency, as on AWS."""
        assert self.ids is not None and self.runtime is not None
        wait = self.options.poll_wait_seconds
        for poller in start_pollers(self.topology, self.ids, self.runtime, session, self.iam, wait):
            self.pollers.append(poller)  # one by one: stop() stops those started before a failure

    def _start_runtime(
        self, specs: list[FunctionSpec], functions: FunctionConfiguration, account_id: str
    ) -> StartingRuntime:
        runtime = StartingRuntime(
            specs,
            project_root=PROJECT_ROOT,
            base_env=functions.base_environment(),
            region=self.topology.region,
            account_id=account_id,
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
        self.rekognition.stop()
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None

    def __enter__(self) -> LocalSystem:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- helpers for callers -------------------------------------------------------------------------
    def session(self) -> Any:
        """A boto3 session for the emulator, with fake credentials."""
        assert self.emulator is not None, "start() the stack first"
        return fake_session(self.topology.region, self.emulator.endpoint)

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
    def _make_emulator(self) -> EmulatorBackend:
        if self.options.emulator == "localstack":
            from local.aws.localstack import LocalStackEmulator

            return LocalStackEmulator()
        if self.iam is None:
            return MotoEmulator()
        return MotoEmulator(wrap=self.iam.guard.wrap, post_secret=self.iam.guard.secret_of)

    def problems(self) -> list[str]:
        """Deliveries dropped and calls denied by the IAM and resource policies, oldest first."""
        return [*(self.iam.problems() if self.iam else []), *self.rekognition.denials]

    def _access_log(self) -> logs.JsonLinesLog | None:
        if self.options.log_dir is None:
            return None
        self.access_log = logs.JsonLinesLog(self.options.log_dir / logs.API_LOG)
        return self.access_log

    def _store_webhook_secret(self, session: Any) -> None:
        """The deliver function reads its secret from SSM, on AWS and here alike."""
        for function in self.topology.functions:
            name = function.environment.get("WEBHOOK_SECRET_PARAMETER")
            if name:
                session.client("ssm").put_parameter(
                    Name=name, Value=self.webhook_secret, Type="SecureString", Overwrite=True
                )

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
