"""Each function's configuration as the stack derives it: serverless.yml's, plus what only the running stack knows."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from local.aws.credentials import FAKE_CREDENTIALS
from local.functions.spec import FunctionSpec
from local.topology import PhysicalIds, Topology, resolve

if TYPE_CHECKING:
    from local.aws.iam import LocalIam
    from local.sidecars.fixtures import FixtureServer
    from local.stack_options import StackOptions


class FunctionConfiguration:
    """The functions' part of LocalStack (local/stack.py), which sets these attributes and methods."""

    options: StackOptions
    topology: Topology
    iam: LocalIam | None
    emulator: Any
    fixtures: FixtureServer | None
    rekognition_url: str

    if TYPE_CHECKING:

        def webhook_target(self) -> str: ...

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
