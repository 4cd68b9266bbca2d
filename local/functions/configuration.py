"""Each function's configuration as the stack derives it: serverless.yml's, plus what only the running stack knows."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from local.aws.credentials import FAKE_CREDENTIALS
from local.functions.spec import FunctionSpec
from local.topology import PhysicalIds, Topology, resolve

if TYPE_CHECKING:
    from local.aws.iam import LocalIam
    from local.stack_options import StackOptions


class FunctionConfiguration:
    """The functions' environment and specs on the emulator at `aws_endpoint`.

    `topology` is the one the IAM layer configured (local/aws/iam/), `webhook_url` the stack's
    webhook target and `fixtures_address` its fixture server's, the one private address the
    fetcher may reach; `inbox_address` its webhook inbox's, the one private address a subscribed
    endpoint may use.
    """

    def __init__(
        self,
        options: StackOptions,
        topology: Topology,
        iam: LocalIam | None,
        aws_endpoint: str,
        rekognition_url: str,
        webhook_url: str,
        fixtures_address: str,
        inbox_address: str = "",
    ):
        self.options = options
        self.topology = topology
        self.iam = iam
        self.aws_endpoint = aws_endpoint
        self.rekognition_url = rekognition_url
        self.webhook_url = webhook_url
        self.fixtures_address = fixtures_address
        self.inbox_address = inbox_address

    def base_environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "AWS_REGION": self.topology.region,
                "AWS_DEFAULT_REGION": self.topology.region,
                # Planned before the emulator listens: the workers start while it starts.
                "AWS_ENDPOINT_URL": self.aws_endpoint,
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

    def specs(self, ids: PhysicalIds) -> list[FunctionSpec]:
        specs = []
        for function in self.topology.functions:
            environment = {k: str(v) for k, v in resolve(dict(function.environment), ids).items()}
            # Values only the running stack knows: its inbox, and its fixture server as the one
            # private address the fetcher may reach.
            if "WEBHOOK_URL" in environment and not environment["WEBHOOK_URL"]:
                environment["WEBHOOK_URL"] = self.webhook_url
            if "FETCH_ALLOWLIST" in environment and not environment["FETCH_ALLOWLIST"]:
                allowed = self.options.fetch_allowlist
                environment["FETCH_ALLOWLIST"] = self.fixtures_address if allowed is None else allowed
            if "WEBHOOK_ALLOWLIST" in environment and not environment["WEBHOOK_ALLOWLIST"]:
                allowed = self.options.webhook_allowlist
                environment["WEBHOOK_ALLOWLIST"] = self.inbox_address if allowed is None else allowed
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
