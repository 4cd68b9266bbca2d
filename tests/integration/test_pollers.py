"""SQS event source mappings against moto's SQS: event shape, deletion, partial failures, retries, DLQ."""

from __future__ import annotations

import hashlib
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from local.aws.credentials import fake_session
from local.functions.pollers import QueueMapping, SqsPoller, messages_to_delete
from local.functions.runtime import FunctionSpec, LambdaRuntime
from tests.support.waiting import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BATCH_HANDLER = "tests/integration/sample_handlers/batch.handler"
FAST_FAILING_CLIENT = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sqs_client(endpoint: str) -> Any:
    return fake_session(REGION, endpoint).client("sqs", config=FAST_FAILING_CLIENT)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def sqs(endpoint: str) -> Any:
    return sqs_client(endpoint)


@pytest.fixture
def capture_file(tmp_path: Path) -> Path:
    return tmp_path / "events.jsonl"


@pytest.fixture
def runtime(capture_file: Path) -> Iterator[LambdaRuntime]:
    environment = {"CAPTURE_FILE": str(capture_file)}
    functions = [
        FunctionSpec("consumer", BATCH_HANDLER, timeout=5, environment=environment),
        FunctionSpec("impatient", BATCH_HANDLER, timeout=0.5, environment=environment),
    ]
    # Forked from a zygote that imports nothing: the sample handler needs none of the shared imports.
    with LambdaRuntime(
        functions, project_root=PROJECT_ROOT, log_path=capture_file.with_suffix(".log"), preload=()
    ) as started:
        yield started


class Queues:
    def __init__(self, sqs: Any, *, max_receive_count: int):
        suffix = uuid.uuid4().hex[:8]
        self.sqs = sqs
        self.dlq_url = sqs.create_queue(QueueName=f"dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        self.url = sqs.create_queue(
            QueueName=f"work-{suffix}",
            Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        self.arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def mapping(self, function_name: str = "consumer", **options: Any) -> QueueMapping:
        return QueueMapping(function_name=function_name, queue_url=self.url, queue_arn=self.arn, **options)

    def send(self, *bodies: str, **options: Any) -> list[str]:
        return [self.sqs.send_message(QueueUrl=self.url, MessageBody=body, **options)["MessageId"] for body in bodies]

    def counts(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def drained(self) -> bool:
        return self.counts(self.url) == 0

    def dead_letters(self) -> list[str]:
        received = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return sorted(message["Body"] for message in received.get("Messages", []))


def captured_events(capture_file: Path) -> list[dict]:
    if not capture_file.exists():
        return []
    return [json.loads(line) for line in capture_file.read_text().splitlines() if line]


def captured_records(capture_file: Path) -> list[dict]:
    return [record for event in captured_events(capture_file) for record in event["Records"]]


def deliveries(capture_file: Path, body: str) -> list[int]:
    return [
        int(record["attributes"]["ApproximateReceiveCount"])
        for record in captured_records(capture_file)
        if record["body"] == body
    ]


@pytest.fixture
def start_poller(sqs: Any, runtime: LambdaRuntime) -> Iterator[Callable[..., SqsPoller]]:
    pollers: list[SqsPoller] = []

    def start(mapping: QueueMapping, **options: Any) -> SqsPoller:
        options.setdefault("wait_seconds", 1)
        poller = SqsPoller(sqs, mapping, runtime.invoke, region=REGION, **options)
        poller.start()
        pollers.append(poller)
        return poller

    yield start
    for poller in pollers:
        poller.stop()


# --- happy path -------------------------------------------------------------------------------------
def test_given_messages_when_function_succeeds_then_all_are_deleted_and_the_event_has_lambdas_shape(
    sqs, start_poller, capture_file
):
    queues = Queues(sqs, max_receive_count=3)
    plain_ids = queues.send("ok-plain-1", "ok-plain-2")
    [attributed_id] = queues.send(
        "ok-with-attributes",
        MessageAttributes={
            "contentType": {"DataType": "String", "StringValue": "image/jpeg"},
            "attempt": {"DataType": "Number", "StringValue": "2"},
            "thumbnail": {"DataType": "Binary", "BinaryValue": b"\x00\xffjpeg"},
        },
    )

    start_poller(queues.mapping())

    wait_until(lambda: len(captured_records(capture_file)) == 3, timeout=10, what="three records delivered")
    wait_until(queues.drained, timeout=10, what="the queue to be emptied by deletion")
    records = {record["messageId"]: record for record in captured_records(capture_file)}
    assert set(records) == {*plain_ids, attributed_id}
    for record in records.values():
        assert set(record) == {
            "messageId",
            "receiptHandle",
            "body",
            "attributes",
            "messageAttributes",
            "md5OfBody",
            *({"md5OfMessageAttributes"} if record["messageAttributes"] else set()),
            "eventSource",
            "eventSourceARN",
            "awsRegion",
        }
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == queues.arn
        assert record["awsRegion"] == REGION
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["receiptHandle"]
        assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
            record["attributes"]
        )
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert records[plain_ids[0]]["messageAttributes"] == {}
    assert records[attributed_id]["messageAttributes"] == {
        "contentType": {
            "stringValue": "image/jpeg",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "attempt": {"stringValue": "2", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "thumbnail": {
            "binaryValue": "AP9qcGVn",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


def test_given_a_message_arrives_during_a_long_poll_then_it_is_handled_without_waiting_out_the_poll(
    sqs, start_poller, capture_file
):
    queues = Queues(sqs, max_receive_count=3)
    poller = start_poller(queues.mapping(), wait_seconds=10)

    sent_at = time.monotonic()
    queues.send("ok-prompt")
    wait_until(lambda: deliveries(capture_file, "ok-prompt"), timeout=5, what="the message to be handled")

    assert time.monotonic() - sent_at < 2.0
    poller.stop(timeout=0)  # ask it to stop; the message below wakes its long poll
    queues.send("wake-up")
    poller.stop(timeout=5)
    assert not poller.running


def test_given_a_batching_window_when_messages_trickle_in_then_they_arrive_as_one_batch(
    sqs, start_poller, capture_file
):
    queues = Queues(sqs, max_receive_count=3)
    start_poller(queues.mapping(maximum_batching_window=0.8, batch_size=10))

    queues.send("ok-early")
    time.sleep(0.3)  # setup, not an assertion: the second message lands inside the window
    queues.send("ok-late")

    wait_until(lambda: len(captured_records(capture_file)) == 2, timeout=10, what="both records")
    assert [len(event["Records"]) for event in captured_events(capture_file)] == [2]


# --- failures and retries ---------------------------------------------------------------------------
def test_given_partial_batch_failure_then_only_failed_messages_are_redelivered_and_then_dead_lettered(
    sqs, start_poller, capture_file
):
    queues = Queues(sqs, max_receive_count=2)
    queues.send("ok-1", "fail-1", "ok-2")

    start_poller(queues.mapping())

    wait_until(lambda: queues.counts(queues.dlq_url) == 1, timeout=15, what="the failed message in the DLQ")
    wait_until(queues.drained, timeout=5, what="the work queue to be empty")
    assert deliveries(capture_file, "ok-1") == [1]
    assert deliveries(capture_file, "ok-2") == [1]
    assert deliveries(capture_file, "fail-1") == [1, 2]
    assert queues.dead_letters() == ["fail-1"]


def test_given_handler_raises_then_nothing_is_deleted_and_the_whole_batch_is_retried(sqs, start_poller, capture_file):
    queues = Queues(sqs, max_receive_count=2)
    queues.send("ok-innocent", "raise-1")

    start_poller(queues.mapping())

    wait_until(lambda: queues.counts(queues.dlq_url) == 2, timeout=15, what="both messages in the DLQ")
    assert deliveries(capture_file, "ok-innocent") == [1, 2]
    assert deliveries(capture_file, "raise-1") == [1, 2]
    assert queues.dead_letters() == ["ok-innocent", "raise-1"]


def test_given_handler_times_out_then_its_records_are_retried_on_a_fresh_worker(
    sqs, start_poller, capture_file, runtime
):
    queues = Queues(sqs, max_receive_count=2)
    queues.send("sleep-forever")

    start_poller(queues.mapping("impatient"))

    wait_until(lambda: queues.counts(queues.dlq_url) == 1, timeout=15, what="the timed-out message in the DLQ")
    assert deliveries(capture_file, "sleep-forever") == [1, 2]
    assert runtime.stats("impatient")["timeouts"] == 2
    assert queues.dead_letters() == ["sleep-forever"]


# --- resilience -------------------------------------------------------------------------------------
def test_given_sqs_is_down_then_the_poller_keeps_retrying_and_resumes_when_it_comes_back(runtime, capture_file):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    queue_name = f"late-{uuid.uuid4().hex[:8]}"
    mapping = QueueMapping(
        function_name="consumer",
        queue_url=f"{endpoint}/123456789012/{queue_name}",
        queue_arn=f"arn:aws:sqs:{REGION}:123456789012:{queue_name}",
    )
    errors: list[Exception] = []
    poller = SqsPoller(sqs_client(endpoint), mapping, runtime.invoke, wait_seconds=1, on_error=errors.append)
    poller.start()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        wait_until(lambda: len(errors) >= 2, timeout=10, what="the poller to report connection errors")
        assert poller.running

        server.start()
        sqs = sqs_client(endpoint)
        queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody="ok-after-outage")

        wait_until(lambda: deliveries(capture_file, "ok-after-outage"), timeout=15, what="delivery after the outage")
    finally:
        started = time.monotonic()
        poller.stop()
        stop_took = time.monotonic() - started
        server.stop()
    assert stop_took < 3, "stop() must return within about one long poll"
    assert not poller.running


def test_given_an_idle_queue_when_stopped_then_the_poller_exits_within_one_long_poll(sqs, runtime):
    queues = Queues(sqs, max_receive_count=2)
    poller = SqsPoller(sqs, queues.mapping(), runtime.invoke, wait_seconds=1)
    poller.start()
    wait_until(lambda: poller.running, timeout=2, what="the poller thread")

    started = time.monotonic()
    poller.stop()

    assert time.monotonic() - started < 2
    assert not poller.running


# --- the partial batch response rules ---------------------------------------------------------------
BATCH = [{"MessageId": "m1"}, {"MessageId": "m2"}, {"MessageId": "m3"}]


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        (None, []),
        ({}, []),
        ({"batchItemFailures": []}, []),
        ({"batchItemFailures": None}, []),
        ("a plain string result", []),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ["m2"]),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, ["m1", "m3"]),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, ["m1", "m2", "m3"]),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, ["m1", "m2", "m3"]),
        ({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, ["m1", "m2", "m3"]),
        ({"batchItemFailures": [{"id": "m1"}]}, ["m1", "m2", "m3"]),
        ({"batchItemFailures": "m1"}, ["m1", "m2", "m3"]),
    ],
)
def test_given_a_function_result_then_failed_items_stay_and_the_rest_are_deleted(result, kept):
    deleted = messages_to_delete(BATCH, result, report_batch_item_failures=True)

    assert [message["MessageId"] for message in BATCH if message not in deleted] == kept


def test_given_reporting_disabled_then_a_successful_invocation_deletes_every_message_whatever_it_returns():
    result = {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    assert messages_to_delete(BATCH, result, report_batch_item_failures=False) == BATCH


def test_given_batch_size_beyond_sqs_limit_then_the_mapping_is_refused(sqs):
    mapping = QueueMapping("consumer", "http://unused", "arn:unused", batch_size=11)

    with pytest.raises(ValueError, match="batch_size"):
        SqsPoller(sqs, mapping, lambda name, event: None)
