"""The deployed stack on ministack: osls deploys the compiled template and zip to it, as to AWS.

After the deploy the local stack changes one thing, listed in docs/fidelity.md: an
UpdateFunctionConfiguration that adds `AWS_ENDPOINT_URL_REKOGNITION`, since ministack has no
Rekognition and the local service stands in for it. Tests may add environment the same way
(shorter delivery retries), and say so. Everything else comes from the deploy: the functions, roles,
queues, policies, event source mappings and the HTTP API, with the physical names ministack gave them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local.deploy.deploy_local import deploy
from local.topology import PhysicalIds, Topology


@dataclass(frozen=True)
class Deployed:
    ids: PhysicalIds
    api_id: str
    functions: Mapping[str, str]  # serverless.yml name -> deployed function name


def deploy_stack(endpoint: str, session: Any, topology: Topology, params: Mapping[str, str]) -> Deployed:
    deploy(endpoint, topology.stage, dict(params))
    cloudformation = session.client("cloudformation")
    resources = cloudformation.describe_stack_resources(StackName=topology.stack_name)["StackResources"]
    refs = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName=topology.stack_name)["Stacks"][0].get("Outputs", [])
    }
    functions = {f.name: refs[_function_logical_id(f.name)] for f in topology.functions}
    pseudo = {"AWS::Region": topology.region, "AWS::StackName": topology.stack_name, "AWS::Partition": "aws"}
    return Deployed(PhysicalIds(refs, {}, pseudo), outputs["HttpApiId"], functions)


def add_environment(session: Any, function_name: str, extra: Mapping[str, str]) -> None:
    """UpdateFunctionConfiguration replaces the whole environment: merge into what was deployed."""
    if not extra:
        return
    lambda_client = session.client("lambda")
    current = lambda_client.get_function_configuration(FunctionName=function_name)
    variables = {**(current.get("Environment") or {}).get("Variables", {}), **extra}
    lambda_client.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})


def discard_startup_messages(session: Any, queue_urls: Iterable[str]) -> None:
    """Empties the event-source queues of a stack that has just been deployed, in flight included.

    The deploy sets the bucket's notifications, and S3 sends its test event at once; ministack may
    hand it to a worker that the environment update then replaces. That batch fails, and its
    message would hide for the queue's visibility timeout (minutes). Before `ready` no upload has
    been made, so nothing but such test events can be there.
    """
    sqs = session.client("sqs")
    for url in queue_urls:
        sqs.purge_queue(QueueUrl=url)


def _function_logical_id(name: str) -> str:
    """osls's logical id for a function: `<Name>LambdaFunction`, dashes and underscores spelled out."""
    spelled = name.replace("-", "Dash").replace("_", "Underscore")
    return spelled[:1].upper() + spelled[1:] + "LambdaFunction"
