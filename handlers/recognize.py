"""recognize: SQS batches of S3 notifications (via SNS) -> Rekognition -> DynamoDB -> completion event.

Each record succeeds or fails on its own: a transient failure is reported in batchItemFailures
and retried by the queue (then dead-lettered), never failing the whole batch. A throttle is not a
failure: the adapters back off inside the invocation, and a record still throttled after that is
re-sent to the queue with a delay and acknowledged, so it can never reach the dead-letter queue.

The records of a batch are processed concurrently: each one mostly waits on Rekognition, so a
batch of ten takes about as long as its slowest image rather than the sum of all ten. Records about
the same object (duplicate notifications) still run one after the other.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from handlers.sqs_records import queue_times, requeue_throttled, requeue_waiting, waited_since
from lib.adapters.clients import in_lambda_init, prepare
from lib.adapters.publisher import EventPublisher
from lib.adapters.rekognition_client import RekognitionRecognizer
from lib.adapters.repository import ImageRepository
from lib.adapters.requeue import Requeuer
from lib.adapters.storage import ImageStore
from lib.config import RecognizeConfig
from lib.domain.content import RecognitionSettings
from lib.domain.events import parse_s3_notification
from lib.domain.image_checks import ImageLimits
from lib.domain.keys import image_id_from_key, is_upload_key
from lib.observability import (
    IMAGES_ACCEPTED,
    RECOGNITION_LATENCY,
    count,
    count_if_throttled,
    current_trace_entity,
    finished,
    image_subsegment,
    metrics,
    milliseconds,
    tracer,
)
from lib.throttling import Backoff, Throttled
from lib.usecases.arrivals import Arrival, UploadArrivals
from lib.usecases.recognize_image import Outcome, RecognitionWorkflow
from lib.usecases.reuse import OriginalPending, ResultReuse

logger = Logger()
# Report every failed record, even when all of them failed, rather than raising for the whole batch.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# A fixed set of locks, chosen by object key: bounded memory, and duplicates of one object never overlap.
_KEY_LOCKS = tuple(threading.Lock() for _ in range(64))
# Throttle backoff ends this long before the invocation would time out, leaving time to re-queue.
BACKOFF_MARGIN_SECONDS = 5.0


@functools.cache
def build_backoff() -> Backoff:
    return Backoff(budget_seconds=RecognizeConfig.from_env().throttle_budget_seconds)


@functools.cache
def build_workflow() -> RecognitionWorkflow:
    config = RecognizeConfig.from_env()
    backoff = build_backoff()
    repository = ImageRepository(config.images_table, backoff=backoff)
    return RecognitionWorkflow(
        repository=repository,
        recognizer=RekognitionRecognizer(config.features, config.max_labels, config.min_confidence, backoff=backoff),
        publisher=EventPublisher(config.results_topic_arn, backoff=backoff),
        reuse=build_reuse(config, repository),
        discard=lambda bucket, key: ImageStore(bucket).delete(key),
    )


def build_reuse(config: RecognizeConfig, repository: ImageRepository) -> ResultReuse | None:
    if not config.dedupe:
        return None
    settings = RecognitionSettings(config.features, config.max_labels, config.min_confidence, config.model_version)
    return ResultReuse(repository.content_index(), repository, settings, config.dedupe_wait_seconds)


@functools.cache
def build_requeuer() -> Requeuer:
    return Requeuer(RecognizeConfig.from_env().uploads_queue_url)


@functools.cache
def build_arrivals() -> UploadArrivals:
    config = RecognizeConfig.from_env()
    repository = ImageRepository(config.images_table, backoff=build_backoff())
    limits = ImageLimits(max_bytes=config.max_image_bytes)
    return UploadArrivals(
        repository=repository, limits=limits, announce=build_workflow().announce, store_for=ImageStore
    )


async def record_handler(
    record: SQSRecord,
    workflow: RecognitionWorkflow | None = None,
    *,
    arrivals: UploadArrivals | None = None,
    requeuer: Requeuer | None = None,
) -> None:
    """Raises to mark this record failed; the batch processor logs the reason and reports it."""
    try:
        # A thread of its own, with a copy of the logging context, so each record's image_id stays its own.
        # X-Ray's context is per thread, so the thread is handed this invocation's segment.
        await asyncio.to_thread(
            process_record,
            record.body,
            workflow or build_workflow(),
            arrivals,
            current_trace_entity(),
            queue_times(record),
            waited_since(record),
        )
    except Throttled as error:
        requeue_throttled(record, error, (requeuer or build_requeuer()).requeue)
    except OriginalPending as pending:
        requeue_waiting(record, pending, (requeuer or build_requeuer()).requeue_waiting)


def process_record(
    body: str,
    workflow: RecognitionWorkflow,
    arrivals: UploadArrivals | None = None,
    trace_parent: Any = None,
    times: dict[str, Any] | None = None,
    waiting_since: float | None = None,
) -> None:
    # When S3 sent the notification, and when it entered and first left the queue: the waits
    # before this function ran, measured by AWS's own clocks, on every line of this record.
    logger.thread_safe_append_keys(**(times or {}))
    for obj in parse_s3_notification(body):
        logger.thread_safe_append_keys(s3_event_time=obj.event_time)
        lock = _KEY_LOCKS[hash(obj.key) % len(_KEY_LOCKS)]
        with lock, image_subsegment(image_id_from_key(obj.key) or "", trace_parent):
            try:
                if is_upload_key(obj.key):
                    # Objects sent with a presigned POST are checked, then admitted under images/.
                    observe_arrival((arrivals or build_arrivals()).process(obj))
                    continue
                outcome = workflow.process(obj, waiting_since)
            except Exception as error:  # reported by the batch processor; counted here if it was throttling
                count_if_throttled(error)
                raise
        observe(outcome)


def observe(outcome: Outcome) -> None:
    if outcome.recognition_ms is not None:
        milliseconds(RECOGNITION_LATENCY, outcome.recognition_ms)
    if outcome.result in ("recognized", "reused", "failed"):
        finished(outcome.result == "failed", outcome.failure_code)


def observe_arrival(arrival: Arrival) -> None:
    # An admitted upload is accepted here, as one through the API is by upload, and ends DONE or
    # FAILED when its copy under images/ is recognized. A refused one ends here, FAILED.
    if arrival.result == "admitted":
        count(IMAGES_ACCEPTED)
    elif arrival.result == "failed":
        finished(True, arrival.failure_code)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    remaining = context.get_remaining_time_in_millis() / 1000
    build_backoff().stop_by(time.monotonic() + remaining - BACKOFF_MARGIN_SECONDS)
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


# Lambda's init phase: build the dependencies and their clients before the first request, which
# would otherwise wait for them. Tests import this module without it and pass their own.
if in_lambda_init():
    build_workflow()
    prepare("rekognition", "dynamodb", "sns", "sqs", "s3")
