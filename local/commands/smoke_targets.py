"""Where `python -m local smoke` runs its flow: the local stack, any API URL, or a deployed stage.

- The local stack: the one `.local/endpoints.json` names, if its API answers; otherwise a fresh one,
  started for the run and stopped after it. Its fixture server lets the flow upload by URL, and its
  webhook inbox lets it check the delivery.
- `--api URL`: any API. Nothing there can fetch our fixtures, so the image goes up as bytes.
- `--stage NAME`: a deployed stage. Its API URL is the `HttpApiUrl` output that osls gives the
  CloudFormation stack `<service>-<stage>`, read with DescribeStacks under the caller's AWS profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from local import topology
from local.endpoints import read_endpoints, shown
from local.errors import StackError
from local.observability.runs import logs_root

API_URL_OUTPUT = "HttpApiUrl"
# Kept after the run, so that `python -m local trace <image_id>` can follow its image.
RUN_LOGS_NAME = "e2e"


class TargetError(Exception):
    """The target could not be found or started; the message says why."""


@dataclass
class Target:
    api: str
    description: str
    fixtures: str | None = None  # a server the API may fetch images from, if there is one
    inbox: str | None = None  # a webhook inbox that lists its deliveries, if one is known
    close: Callable[[], None] = field(default=lambda: None)
    # Calls the local IAM layer denied and deliveries it dropped: a flow that waits fails at once.
    problems: Callable[[], list[str]] = field(default=list)


def api_target(api: str, inbox: str | None = None) -> Target:
    return Target(api=api.rstrip("/"), description=f"API at {api.rstrip('/')}", inbox=inbox)


def stage_target(stage: str, inbox: str | None = None, region: str | None = None, profile: str | None = None) -> Target:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    system = topology.load(stage)
    stack_name = system.stack_name
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        region = session.region_name or system.region
        stacks = session.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise TargetError(f"stack {stack_name} in {region}: {error.response['Error'].get('Message', error)}") from None
    except BotoCoreError as error:
        raise TargetError(f"could not read stack {stack_name} ({error}); is your AWS profile set?") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for stack in stacks for o in stack.get("Outputs", [])}
    if API_URL_OUTPUT not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise TargetError(f"stack {stack_name} has no {API_URL_OUTPUT} output (outputs: {known}); is it deployed?")
    api = outputs[API_URL_OUTPUT].rstrip("/")
    return Target(api=api, description=f"stage {stage} ({stack_name} in {region}) at {api}", inbox=inbox)


def local_target() -> Target:
    running = _running_local_stack()
    if running is not None:
        return running
    return fresh_local_target()


def _running_local_stack() -> Target | None:
    try:
        endpoints = read_endpoints()
        api = endpoints["api"].rstrip("/")
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    if not _answers(api):
        return None
    return Target(
        api=api,
        description=f"running local stack at {api}",
        fixtures=endpoints.get("fixtures"),
        inbox=endpoints.get("webhook_inbox"),
    )


def _answers(api: str) -> bool:
    try:
        requests.get(f"{api}/images?limit=1", timeout=3)
    except requests.RequestException:
        return False  # a stale endpoints file from a stack that did not stop cleanly
    return True


def fresh_local_target() -> Target:
    """A local stack started for this run alone, stopped by the target's `close`."""
    from local.stack import LocalSystem, StackOptions

    try:
        options = StackOptions.from_env()
        options.write_endpoints = False  # stopped at the end of the run: no one else should find it
        options.log_path = None  # in the run's log directory: keeps the step lines readable
        options.log_dir = logs_root() / RUN_LOGS_NAME
        stack: Any = LocalSystem(options)
        endpoints = stack.start()
    except StackError as error:
        raise TargetError(f"could not start a local stack: {error}") from None
    return Target(
        api=endpoints.api,
        description=f"local stack started for this run at {endpoints.api} (function logs: {shown(options.log_dir)})",
        fixtures=endpoints.fixtures,
        inbox=endpoints.webhook_inbox,
        close=stack.stop,
        problems=stack.problems,
    )
