"""What a chaos run injects, and the stack it runs on: the real topology with short visibility timeouts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from local import topology
from local.stack import LocalSystem, StackOptions
from local.topology import Topology

SOURCE_QUEUES = ("UploadsQueue", "IntegrationQueue", "EndpointDeliveryQueue")
# The sender gives up on a receiver after this long (the minimum WEBHOOK_TIMEOUT_SECONDS allows).
WEBHOOK_TIMEOUT_SECONDS = 1


@dataclass(frozen=True)
class ChaosSettings:
    images: int = 500
    webhook_fail_rate: float = 0.3
    rekognition_fail_rate: float = 0.1
    worker_kills: int = 3
    # Share of images whose S3 notification is sent a second time, racing the first.
    duplicate_rate: float = 0.1
    # The source queues' visibility timeouts: short, so that a batch still waiting for the function
    # (behind another poller's batch) becomes visible again and is delivered twice. Deliveries are
    # quicker than recognitions, so their queue gets the shorter one.
    visibility_timeout: int = 2
    integration_visibility_timeout: int = 1
    # Pollers per source queue beyond the stack's own, as Lambda runs several per event source.
    extra_pollers: int = 1
    concurrency: int = 4  # uploads in flight at once
    seed: int = 20261126
    rekognition: str = "local"
    stage: str = "chaos"
    # A bound, not a wait: 500 images make 2,000 endpoint deliveries besides their webhooks, one
    # invocation each on two deliver workers, and the slow endpoint holds a worker 400 ms a time;
    # on a shared 2-core machine the drain has taken over 600 s.
    drain_timeout: float = 1500.0

    def describe(self) -> str:
        return (
            f"{self.images} images, webhook faults {self.webhook_fail_rate:.0%} (seed {self.seed}), "
            f"rekognition ({self.rekognition}) fail rate {self.rekognition_fail_rate:.0%}, "
            f"visibility {self.visibility_timeout} s and {self.integration_visibility_timeout} s, "
            f"{1 + self.extra_pollers} pollers per queue, "
            f"{self.worker_kills} worker kills, {self.duplicate_rate:.0%} duplicate notifications"
        )


def chaos_topology(settings: ChaosSettings) -> Topology:
    """serverless.yml for the chaos stage, with the source queues' visibility timeouts cut short."""
    return with_visibility(
        topology.load(settings.stage),
        {
            "UploadsQueue": settings.visibility_timeout,
            "IntegrationQueue": settings.integration_visibility_timeout,
            # The subscribed endpoints' queue: a message seen twice at once meets the send lease.
            "EndpointDeliveryQueue": settings.integration_visibility_timeout,
        },
    )


def with_visibility(base: Topology, visibility: dict[str, int]) -> Topology:
    """The topology with the named queues' visibility timeouts replaced."""
    queues = tuple(
        dataclasses.replace(
            queue,
            visibility_timeout=visibility[queue.logical_id],
            properties={**queue.properties, "VisibilityTimeout": visibility[queue.logical_id]},
        )
        if queue.logical_id in visibility
        else queue
        for queue in base.queues
    )
    return dataclasses.replace(base, queues=queues)


def chaos_stack(settings: ChaosSettings, webhook_url: str, webhook_secret: str, log_path: Path) -> LocalSystem:
    options = StackOptions(
        stage=settings.stage,
        rekognition=settings.rekognition,
        rekognition_fail_rate=settings.rekognition_fail_rate if settings.rekognition == "local" else 0.0,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        write_endpoints=False,
        log_path=log_path,
        poll_wait_seconds=1,
        # Retries within seconds rather than minutes, so a run ends in minutes.
        function_environment={
            "deliver": {
                "RETRY_BASE_SECONDS": "1",
                "RETRY_MAX_SECONDS": "2",
                "WEBHOOK_TIMEOUT_SECONDS": str(WEBHOOK_TIMEOUT_SECONDS),
            }
        },
    )
    return LocalSystem(options, chaos_topology(settings))
