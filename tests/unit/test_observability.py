"""Metrics as the functions write them (EMF, checked against the committed schema), and the local
tools that read them back: the metric totals and one image's trace."""

from __future__ import annotations

import copy

import pytest

from handlers import deliver, recognize
from lib import observability
from lib.usecases import delivery
from lib.usecases.recognize_image import Outcome
from local.observability import emf, trace
from tests.support import emf as emf_schema


def names(documents: list[dict]) -> dict[str, float | list]:
    """Each metric's values across the documents; counts summed, as CloudWatch's Sum would."""
    values: dict[str, list] = {}
    units: dict[str, str] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
                units[metric["Name"]] = metric.get("Unit", "None")
    return {name: sum(v) if units[name] == "Count" else v for name, v in values.items()}


def test_the_functions_metrics_are_valid_emf_with_the_split_in_its_own_document(flushed):
    observability.count(observability.IMAGES_ACCEPTED)
    observability.count_by(observability.IMAGES_REFUSED, "ErrorCode", "invalid_image")
    observability.milliseconds(observability.RECOGNITION_LATENCY, 123.456)
    documents = flushed()
    assert documents and all(emf_schema.problems(d) == [] for d in documents)
    split = [d for d in documents if d.get("ErrorCode") == "invalid_image"]
    assert len(split) == 1 and "ErrorCode" in split[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
    assert names(documents) == {"ImagesRefused": 2, "ImagesAccepted": 1, "RecognitionLatency": [123.5]}


VALID = {
    "_aws": {
        "Timestamp": 1796012849678,
        "CloudWatchMetrics": [
            {"Namespace": "ns", "Dimensions": [["service"]], "Metrics": [{"Name": "Hits", "Unit": "Count"}]}
        ],
    },
    "service": "svc",
    "Hits": [1.0],
}
BROKEN = {
    "no timestamp": lambda d: d["_aws"].pop("Timestamp"),
    "an unknown unit": lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Apples"),
    "an extra member in a directive": lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Extra=1),
    "no value for a metric": lambda d: d.pop("Hits"),
    "a value that is not a number": lambda d: d.update(Hits="one"),
    "over 100 values": lambda d: d.update(Hits=[1.0] * 101),
    "no value for a dimension": lambda d: d.pop("service"),
}


def test_a_valid_document_passes():
    assert emf_schema.problems(VALID) == []


@pytest.mark.parametrize("breakage", BROKEN)
def test_the_schema_refuses_a_broken_document(breakage):
    document = copy.deepcopy(VALID)
    BROKEN[breakage](document)
    assert emf_schema.problems(document)


def test_recognize_counts_done_failed_by_reason_and_latency(flushed):
    recognize.observe(Outcome("a", "recognized", recognition_ms=10.0))
    recognize.observe(Outcome("b", "failed", recognition_ms=20.0, failure_code="invalid_image"))
    recognize.observe(Outcome("c", "duplicate"))
    documents = flushed()
    # ImagesFailed: the total, and again under its Reason.
    assert names(documents) == {
        "ImagesFailed": 2,
        "RecognitionLatency": [10.0, 20.0],
        "ImagesDone": 1,
        # One value per finished image, 0 for DONE and 100 for FAILED: its average is the FAILED rate.
        "ImageFailureRate": [0, 100],
    }
    assert [d["Reason"] for d in documents if "Reason" in d] == ["invalid_image"]


def test_deliver_counts_attempts_deliveries_dead_letters_and_end_to_end_latency(flushed):
    deliverer = deliver.Deliverer(delivery=None, queue=None, max_attempts=3)
    event = deliver.CompletionEvent.for_image("image.recognized", {"image_id": "a", "created_at": "x"}, "public")
    recent = deliver.CompletionEvent.for_image(
        "image.recognized", {"image_id": "b", "created_at": "2026-01-01T00:00:00.000000Z"}, "public"
    )
    deliverer._observe(recent, delivery.Decision(delivery.DELIVERED, "HTTP 204"), attempt=1)
    deliverer._observe(event, delivery.Decision(delivery.RETRY, "HTTP 500"), attempt=2)  # retried: not dead yet
    deliverer._observe(event, delivery.Decision(delivery.RETRY, "HTTP 500"), attempt=3)  # the queue's last try
    deliverer._observe(event, delivery.Decision(delivery.PERMANENT, "HTTP 410"), attempt=1)
    deliverer._observe(event, delivery.Decision("skipped", "already delivered"), attempt=1)
    found = names(flushed())
    assert found["WebhookAttempts"] == 4 and found["WebhooksDelivered"] == 1
    assert found["WebhooksDeadLettered"] == 2
    assert len(found["EndToEndLatency"]) == 1 and found["EndToEndLatency"][0] > 0


def test_metric_totals_sum_counts_and_summarise_latencies():
    documents = [copy.deepcopy(VALID), copy.deepcopy(VALID)]
    documents[1]["Hits"] = 2.0
    totals = emf.totals(emf.documents([*documents, {"message": "not a metric"}]))
    assert {key: series.describe() for key, series in totals.items()} == {("ns", "Hits", (("service", "svc"),)): "3"}


# --- the trace -------------------------------------------------------------------------------------
IMAGE = "0" * 32


def flow_lines() -> list[dict]:
    """The lines one image leaves: access log, platform lines and the functions' own, times in ms."""

    def platform(request_id, start_iso, duration):
        return [
            {"time": start_iso, "type": "platform.start", "record": {"requestId": request_id}},
            {"type": "platform.report", "record": {"requestId": request_id, "metrics": {"durationMs": duration}}},
        ]

    return [
        {"requestId": "api-1", "httpMethod": "POST", "path": "/images", "status": 202}
        | {"requestTimeEpoch": 1_000_000, "responseLatency": 50.0},
        *platform("up-1", "1970-01-01T00:16:40.005Z", 40.0),
        {"message": "image accepted", "image_id": IMAGE, "correlation_id": "api-1", "function_request_id": "up-1"},
        *platform("rec-1", "1970-01-01T00:16:40.060Z", 200.0),
        {
            "message": "image recognized",
            "image_id": IMAGE,
            "function_request_id": "rec-1",
            "status": "DONE",
            "s3_event_time": "1970-01-01T00:16:40.040Z",
            "queue_sent_ms": 1_000_045,
            "queue_first_receive_ms": 1_000_055,
            "recognition_ms": 150.0,
            "store_ms": 20.0,
            "publish_ms": 20.0,
            "timestamp": "1970-01-01 00:16:40,255+0000",
        },
        *platform("del-1", "1970-01-01T00:16:40.260Z", 30.0),
        {
            "message": "webhook delivered",
            "image_id": IMAGE,
            "webhook_id": f"msg_{IMAGE}",
            "function_request_id": "del-1",
            "attempt": 1,
            "action": "delivered",
            "reason": "HTTP 204",
            "queue_sent_ms": 1_000_250,
            "queue_first_receive_ms": 1_000_256,
            "post_started_ms": 1_000_265,
            "post_ms": 15.0,
            "timestamp": "1970-01-01 00:16:40,290+0000",
        },
    ]


def test_the_trace_times_every_hop_by_its_own_clock():
    built = trace.build(IMAGE, flow_lines())
    assert [(h.name, h.start_ms - 1_000_000, h.duration_ms) for h in built.hops] == [
        ("API POST /images", 0, 50),
        ("upload λ", 5, 40),
        ("wait S3 -> SNS -> SQS", 40, 15),
        ("poller -> invoke", 55, 5),
        ("recognize λ", 60, 200),
        ("Rekognition DetectLabels", 65, 150),
        ("DynamoDB writes", 215, 20),
        ("SNS publish, marked published", 235, 20),
        ("wait SNS -> SQS", 250, 6),
        ("poller -> invoke", 256, 4),
        ("deliver (try 1) λ", 260, 30),
        ("webhook POST try 1", 265, 15),
    ]
    assert built.missing == []
    assert built.outcome == "DONE; webhook delivered on try 1 (HTTP 204)"
    assert built.upload_to_webhook_ms == 280
    # API 0-50, wait 50-55 (from 40, under the API until 50), poller 55-60, recognize 60-260,
    # wait 260-256: inside recognize, poller 260, deliver 260-280: up to the webhook's answer.
    assert built.sum_of_steps_ms == 50 + 5 + 5 + 200 + 20
    assert "webhook POST try 1" in built.render()


def test_the_trace_lists_each_endpoint_attempts_apart_from_the_stage_webhook():
    # GIVEN the flow's lines and, logged later, an endpoint's failed try
    endpoint_try = {
        "message": "endpoint delivery failed; will retry",
        "image_id": IMAGE,
        "webhook_id": f"msg_{IMAGE}",
        "endpoint_id": "ep_1",
        "attempt": 1,
        "action": "retry",
        "reason": "HTTP 500",
        "post_started_ms": 1_000_300,
        "post_ms": 4.0,
        "retry_in_seconds": 1,
        "timestamp": "1970-01-01 00:16:40,310+0000",
    }

    built = trace.build(IMAGE, [*flow_lines(), endpoint_try])

    # THEN the stage's webhook keeps its own outcome and hops, and the endpoint's try is listed apart
    assert built.outcome == "DONE; webhook delivered on try 1 (HTTP 204)"
    assert built.hops == trace.build(IMAGE, flow_lines()).hops
    [trail] = built.endpoints
    assert (trail.endpoint_id, trail.outcome) == ("ep_1", "failing after 1 try; a retry is scheduled")
    assert "     300 ms  try 1  retry     POST 4 ms    HTTP 500; retry in 1 s" in built.render()


def test_the_trace_says_what_it_could_not_find():
    lines = [line for line in flow_lines() if line.get("type") != "platform.start" and "requestTimeEpoch" not in line]
    built = trace.build(IMAGE, lines)
    assert any("API request" in m for m in built.missing) and any("recognize invocation" in m for m in built.missing)
    assert trace.build("f" * 32, flow_lines()).render().endswith("nothing in the logs names this image")


def test_throttling_is_counted_per_dependency_and_other_errors_are_not(flushed):
    from botocore.exceptions import ClientError

    from lib.adapters.rekognition_client import RekognitionRecognizer
    from lib.domain.errors import TransientError
    from lib.throttling import Backoff, Throttled

    def throttled_rekognition():
        class Client:
            def detect_labels(self, **_):
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DetectLabels")

        return Client()

    with pytest.raises(Throttled) as raised:
        # No backoff budget: the first throttle is the one counted, with no real seconds of retries first.
        RekognitionRecognizer(
            frozenset({"labels"}), rekognition=throttled_rekognition, backoff=Backoff(budget_seconds=0)
        ).recognize("bucket", "images/x.jpg")
    observability.count_if_throttled(raised.value)
    observability.count_if_throttled(TransientError("a timeout is not throttling"))
    documents = flushed()
    assert names(documents) == {"Throttles": 2}  # the total, and again under its Dependency
    assert [d["Dependency"] for d in documents if "Dependency" in d] == ["Rekognition"]


def test_an_upload_refused_at_admission_says_so_instead_of_missing_recognition():
    lines = [
        {"message": "upload slot opened", "image_id": IMAGE, "correlation_id": "api-2", "function_request_id": "ups"},
        {"message": "upload failed its checks", "image_id": IMAGE, "code": "invalid_image", "reason": "truncated"},
    ]

    built = trace.build(IMAGE, lines)

    assert built.outcome.startswith("FAILED, refused at admission (invalid_image: truncated)")
    assert not any("recognition" in what for what in built.missing), built.missing


def test_a_slot_never_used_says_the_file_never_arrived():
    built = trace.build(IMAGE, [{"message": "upload slot opened", "image_id": IMAGE}])

    assert any(what.startswith("the upload's arrival") and "not sent the file" in what for what in built.missing)
