"""`python -m local redrive QUEUE`: move a dead-letter queue's messages back to their source queue.

QUEUE is a queue URL, a queue name, or a logical id from serverless.yml (UploadsDeadLetterQueue,
IntegrationDeadLetterQueue). Where it lives:

    python -m local redrive IntegrationDeadLetterQueue --local          # the running `make local`
    python -m local redrive UploadsDeadLetterQueue --stage dev           # AWS, with your profile
    python -m local redrive https://sqs.../my-dlq --profile ops --region eu-west-1

With `--stage`, a logical id is looked up in the CloudFormation stack `<service>-<stage>`. The source
queue is the one whose redrive policy names the dead-letter queue (ListDeadLetterSourceQueues), or
`--to`. On AWS the move is SQS's StartMessageMoveTask; on an emulator, which lacks it, a copy that
sends each message before deleting it (local.commands.dead_letters). Prints the count moved; exits 1 if any
message could not be moved.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from local import topology
from local.aws.credentials import fake_session
from local.commands.dead_letters import Moved, RedriveError, move_by_copy, move_with_task
from local.endpoints import endpoints_file, read_endpoints


@dataclass(frozen=True)
class Place:
    """Where the queues are: a boto3 session, the endpoint if an emulator, and the stack's name."""

    session: Any
    endpoint: str | None
    stack_name: str
    stage: str | None

    def client(self, service: str) -> Any:
        return (
            self.session.client(service, endpoint_url=self.endpoint) if self.endpoint else self.session.client(service)
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local redrive", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("queue", help="the dead-letter queue: URL, name, or logical id from serverless.yml")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the running local stack (.local/endpoints.json)")
    where.add_argument("--stage", help="a deployed stage: logical ids are looked up in its CloudFormation stack")
    where.add_argument("--endpoint-url", help="any SQS-compatible endpoint (an emulator)")
    parser.add_argument("--to", help="the queue to move the messages to (default: the DLQ's source queue)")
    parser.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's, else serverless.yml's)")
    parser.add_argument("--max", type=int, default=None, help="move at most this many messages (copy only)")
    parser.add_argument("--method", choices=("auto", "move-task", "copy"), default="auto")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        result = redrive(_place(args), args.queue, args.to, args.method, args.max)
    except RedriveError as error:
        print(f"redrive: failed, {error}", file=sys.stderr, flush=True)
        return 1
    except ClientError as error:
        print(f"redrive: failed, {error.response['Error'].get('Message', error)}", file=sys.stderr, flush=True)
        return 1
    except BotoCoreError as error:
        print(f"redrive: failed, {error}", file=sys.stderr, flush=True)
        return 1
    print(result.line(), flush=True)
    return 0 if result.moved.failed == 0 else 1


@dataclass(frozen=True)
class Result:
    moved: Moved
    dead_letter_url: str
    source_url: str

    def line(self) -> str:
        moved = self.moved
        left = f"; {moved.failed} could not be sent and are still in the dead-letter queue" if moved.failed else ""
        return (
            f"redrive: moved {moved.moved} messages from {_name(self.dead_letter_url)} "
            f"to {_name(self.source_url)} ({moved.method}){left}"
        )


def redrive(place: Place, queue: str, to: str | None = None, method: str = "auto", limit: int | None = None) -> Result:
    sqs = place.client("sqs")
    dead_letter_url = find_queue(place, queue)
    source_url = find_queue(place, to) if to else source_of(sqs, dead_letter_url)
    if method == "auto":
        method = "copy" if place.endpoint or limit is not None else "move-task"
    if method == "move-task":
        from botocore.exceptions import ClientError

        try:
            moved = move_with_task(sqs, _arn(sqs, dead_letter_url), _arn(sqs, source_url))
        except ClientError:
            if place.endpoint is None:
                raise
            raise RedriveError(f"{place.endpoint} has no StartMessageMoveTask; use --method copy") from None
    else:
        moved = move_by_copy(sqs, dead_letter_url, source_url, limit)
    return Result(moved, dead_letter_url, source_url)


def find_queue(place: Place, queue: str) -> str:
    """The URL of `queue`, given as a URL, a logical id of the stack, or a queue name."""
    from botocore.exceptions import ClientError

    if queue.startswith(("https://", "http://")):
        return queue
    if place.stage is not None and place.endpoint is None:
        try:
            resource = place.client("cloudformation").describe_stack_resource(
                StackName=place.stack_name, LogicalResourceId=queue
            )
            return resource["StackResourceDetail"]["PhysicalResourceId"]
        except ClientError:
            pass  # not a logical id of the stack: try it as a queue name
    sqs = place.client("sqs")
    for name in (f"{place.stack_name}-{queue}", queue):  # the local stack names queues <stack>-<LogicalId>
        try:
            return sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError:
            continue
    raise RedriveError(f"no queue {queue!r} in {place.stack_name} (give a URL, a queue name or a logical id)")


def source_of(sqs: Any, dead_letter_url: str) -> str:
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dead_letter_url).get("queueUrls", [])
    if len(sources) != 1:
        found = ", ".join(_name(url) for url in sources) or "none"
        raise RedriveError(f"{_name(dead_letter_url)} is the dead-letter queue of {found}; say where with --to")
    return sources[0]


def _place(args: argparse.Namespace) -> Place:
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    if args.local:
        where = endpoints_file()
        try:
            endpoint = read_endpoints(where)["aws"]
        except (OSError, ValueError, KeyError) as error:
            raise RedriveError(f"no running local stack ({where.name}: {error}); start it with make local") from None
        system = topology.load("local")
        return Place(fake_session(system.region, endpoint), endpoint, system.stack_name, "local")
    system = topology.load(args.stage or "dev")
    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    except (ProfileNotFound, BotoCoreError) as error:
        raise RedriveError(str(error)) from None
    if session.region_name is None:
        session = boto3.session.Session(profile_name=args.profile, region_name=system.region)
    return Place(session, args.endpoint_url, system.stack_name, args.stage)


def _arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
