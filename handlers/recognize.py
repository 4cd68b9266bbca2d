"""recognize: SQS batches of S3 notifications (via SNS) -> Rekognition -> DynamoDB -> completion event.

Each record succeeds or fails on its own: a transient failure is reported in batchItemFailures
and retried by the queue (then dead-lettered), never failing the whole batch.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lib.config import RecognizeConfig
from lib.events import parse_s3_notification
from lib.processing import RecognitionWorkflow
from lib.publisher import EventPublisher
from lib.recognition import Recognizer
from lib.repository import ImageRepository

logger = Logger()
# Report every failed record, even when all of them failed, rather than raising for the whole batch.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@functools.cache
def build_workflow() -> RecognitionWorkflow:
    config = RecognizeConfig.from_env()
    return RecognitionWorkflow(
        repository=ImageRepository(config.images_table),
        recognizer=Recognizer(config.features, config.max_labels, config.min_confidence),
        publisher=EventPublisher(config.results_topic_arn),
    )


def record_handler(record: SQSRecord, workflow: RecognitionWorkflow | None = None) -> None:
    """Raises to mark this record failed; the batch processor logs the reason and reports it."""
    workflow = workflow or build_workflow()
    logger.remove_keys(["image_id"])
    for obj in parse_s3_notification(record.body):
        workflow.process(obj)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
