"""The SQS event source mappings of a local stack: one scaling poller per SQS trigger in serverless.yml."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from local.functions.pollers import QueueMapping
from local.functions.runtime import LambdaRuntime
from local.functions.scaling import ScalingPoller
from local.topology import PhysicalIds, Topology

if TYPE_CHECKING:
    from local.aws.iam import LocalIam


def start_pollers(
    topology: Topology, ids: PhysicalIds, runtime: LambdaRuntime, session: Any, iam: LocalIam | None, wait_seconds: int
) -> Iterator[ScalingPoller]:
    """Each poller as soon as it started (so that a caller can stop those started before a failure),
    each up to its function's concurrency, as on AWS. `iam` is None when IAM is not enforced;
    `session` talks to the emulator."""
    for trigger in topology.sqs_triggers:
        # Lambda's event source mapping receives and deletes with the function's role.
        role_session = iam.session(trigger.function, topology.region) if iam else None

        def make_client(role_session: Any = role_session) -> Any:
            if role_session is not None:
                return role_session.client("sqs", endpoint_url=session.endpoint)
            return session.client("sqs")

        poller = ScalingPoller(
            make_client(),
            QueueMapping(
                function_name=trigger.function,
                queue_url=ids.refs[trigger.queue],
                queue_arn=ids.attributes[(trigger.queue, "Arn")],
                batch_size=trigger.batch_size,
                maximum_batching_window=trigger.maximum_batching_window,
                report_batch_item_failures=trigger.report_batch_item_failures,
            ),
            runtime.invoke,
            max_pollers=runtime.concurrency(trigger.function),
            region=topology.region,
            wait_seconds=wait_seconds,
            make_client=make_client,
        )
        poller.start()
        yield poller
