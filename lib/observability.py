"""Metrics (CloudWatch embedded metric format) and tracing (X-Ray), through Powertools.

One `metrics` and one `tracer` for the process: Powertools keeps their state at class level, and
each handler flushes the metrics once per invocation with `@metrics.log_metrics`. The namespace is
`POWERTOOLS_METRICS_NAMESPACE`, one per stage (serverless.yml); every metric carries the `service`
dimension, so the dashboard and the alarms name exactly what is written here.

The names below are the contract with serverless.yml's dashboard and alarms; a test reads both.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lib.throttling import Throttled

# Used only where serverless.yml's per-stage namespace is absent, as in unit tests.
DEFAULT_NAMESPACE = "image-recognition"

IMAGES_ACCEPTED = "ImagesAccepted"
IMAGES_REFUSED = "ImagesRefused"  # also per ErrorCode
RECOGNITION_LATENCY = "RecognitionLatency"
IMAGES_DONE = "ImagesDone"
IMAGES_FAILED = "ImagesFailed"  # also per Reason
# 100 for an image that ended FAILED, 0 for one that ended DONE: its average is the FAILED rate.
IMAGE_FAILURE_RATE = "ImageFailureRate"
WEBHOOK_ATTEMPTS = "WebhookAttempts"
WEBHOOKS_DELIVERED = "WebhooksDelivered"
WEBHOOKS_DEAD_LETTERED = "WebhooksDeadLettered"
END_TO_END_LATENCY = "EndToEndLatency"
THROTTLES = "Throttles"  # also per Dependency
# Each message to a subscribed endpoint, once per try, also per Outcome (DELIVERY_OUTCOMES). Never
# per endpoint: its id is in the log lines; the owner rides along as a property, not a dimension.
ENDPOINT_DELIVERIES = "EndpointDeliveries"
DELIVERY_OUTCOMES = ("delivered", "retry", "failed", "skipped", "disabled")
WEBHOOK_ENDPOINTS_DISABLED = "WebhookEndpointsDisabled"  # also per Cause: failing, gone
METRIC_NAMES = (
    IMAGES_ACCEPTED,
    IMAGES_REFUSED,
    RECOGNITION_LATENCY,
    IMAGES_DONE,
    IMAGES_FAILED,
    IMAGE_FAILURE_RATE,
    WEBHOOK_ATTEMPTS,
    WEBHOOKS_DELIVERED,
    WEBHOOKS_DEAD_LETTERED,
    END_TO_END_LATENCY,
    THROTTLES,
    ENDPOINT_DELIVERIES,
    WEBHOOK_ENDPOINTS_DISABLED,
)


class _NoTracer:
    """Powertools Tracer's surface, doing nothing: where nothing would record a trace."""

    disabled = True

    @staticmethod
    def capture_lambda_handler(function: Any) -> Any:
        return function

    @staticmethod
    def capture_method(function: Any) -> Any:
        return function

    def put_annotation(self, key: str, value: Any) -> None:
        pass


def _tracing_on() -> bool:
    """Powertools' own rule: in Lambda (a task root), unless POWERTOOLS_TRACE_DISABLED says otherwise."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not disabled


def _tracer() -> Any:
    if not _tracing_on():
        # The X-Ray SDK builds a recorder and a boto3 client when imported, for nothing here: a
        # quarter of a function's init outside Lambda, where tests and the local stack run it.
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer()


# An invocation with nothing to count is normal (S3's test event, a duplicate delivery); Powertools
# warns about each one.
warnings.filterwarnings("ignore", message="No application metrics to publish")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE)
tracer = _tracer()


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(value, 1))


def percent(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Percent, value=value)


def finished(failed: bool, reason: str | None = None) -> None:
    """An image reached its final status: counted as DONE or FAILED (by reason), and in the FAILED rate."""
    if failed:
        count_by(IMAGES_FAILED, "Reason", reason or "unknown")
    else:
        count(IMAGES_DONE)
    percent(IMAGE_FAILURE_RATE, 100 if failed else 0)


def count_by(name: str, dimension: str, value: str, properties: Mapping[str, str] | None = None) -> None:
    """The total, plus the same count under one more dimension (an error code, a reason).

    The total is what alarms and rates use; the split says why. A dimension applies to a whole
    EMF document, so the split goes out at once as a document of its own. `properties` go into
    that document as plain keys: Logs Insights can group by them, and CloudWatch makes no metric of them.
    """
    count(name)
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        metric.add_dimension(name=dimension, value=value[:250] or "unknown")
        for key, text in (properties or {}).items():
            metric.add_metadata(key=key, value=text)


def count_if_throttled(error: BaseException) -> None:
    """Counts a dependency's refusal for its rate, whichever function met it."""
    if isinstance(error, Throttled):
        count_by(THROTTLES, "Dependency", error.dependency)


def annotate_image(image_id: str) -> None:
    """Makes the current segment findable by `annotation.image_id = "..."` in X-Ray."""
    if image_id:
        tracer.put_annotation(key="image_id", value=image_id)


def current_trace_entity() -> Any:
    """The segment of this thread, to hand to a worker thread (X-Ray's context is per thread)."""
    return None if tracer.disabled else tracer.provider.get_trace_entity()


@contextmanager
def image_subsegment(image_id: str, parent: Any = None) -> Iterator[None]:
    """One subsegment per image, annotated with its id; `parent` adopts another thread's segment."""
    if tracer.disabled:
        yield
        return
    if parent is not None:
        tracer.provider.set_trace_entity(parent)
    with tracer.provider.in_subsegment("## image") as subsegment:
        subsegment.put_annotation("image_id", image_id)
        yield
