"""What the local stack shows of a flow: valid EMF metrics in the logs, their totals, and the image's
trace, whose hops account for the upload-to-webhook time the client measured."""

from __future__ import annotations

import time

import pytest
import requests

from local.commands import metrics as metrics_command
from local.commands import trace as trace_command
from local.observability import emf, logs, trace
from tests.support import emf as emf_schema
from tests.support.e2e_stack import skip_on_ministack
from tests.support.waiting import wait_until

# docs/fidelity.md, rows 48 and 49.
NO_LOCAL_LOGS = (
    "the trace and the metrics read the embedded runtime's platform lines and the gateway's access log; "
    "ministack runs the functions and the API itself and writes neither"
)
HOPS = [
    "API GET /",
    "upload λ",
    "wait S3 -> SNS -> SQS",
    "recognize λ",
    "Rekognition DetectLabels",
    "DynamoDB writes",
    "SNS publish, marked published",
    "wait SNS -> SQS",
    "deliver (try 1) λ",
    "webhook POST try 1",
]


def entries(stack) -> list[dict]:
    return [entry for path in logs.log_files(stack.log_dir) for entry in logs.json_lines(path)]


@pytest.fixture(scope="module")
def flow(stack):
    """One image from upload to webhook, timed by the client as `make smoke` times it."""
    skip_on_ministack(stack, NO_LOCAL_LOGS)
    uploaded_at = time.time()
    response = stack.upload_url("coffee.jpg")
    assert response.status_code == 202, response.text
    image_id = response.json()["image_id"]
    [delivery] = wait_until(lambda: stack.deliveries_for(image_id), 60, "the webhook")
    # The deliver function logs its try once the receiver has answered, and the runtime its platform
    # lines once the handler has returned, after the webhook arrived: wait for both.
    built = wait_until(
        lambda: (found := trace.build(image_id, entries(stack))).webhook_answered_ms and not found.missing and found,
        30,
        "the trace",
    )
    return image_id, (delivery.received_at - uploaded_at) * 1000, built


def test_the_trace_shows_every_hop_from_upload_to_webhook(flow):
    _, _, built = flow
    assert [hop.name for hop in built.hops if hop.name != "poller -> invoke"] == HOPS, built.render()
    assert built.missing == [] and built.outcome == "DONE; webhook delivered on try 1 (HTTP 204)"


def test_the_hops_add_up_to_what_the_client_measured(flow):
    _, client_ms, built = flow
    print(f"client {client_ms:.0f} ms, sum of hops {built.sum_of_steps_ms:.0f} ms\n{built.render()}")
    assert abs(built.sum_of_steps_ms - client_ms) <= 0.1 * client_ms, (
        f"client {client_ms:.0f} ms, sum of hops {built.sum_of_steps_ms:.0f} ms\n{built.render()}"
    )


def test_the_trace_command_prints_the_waterfall(flow, stack, capsys):
    image_id, _, _ = flow
    assert trace_command.main([image_id, "--logs", str(stack.log_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"trace {image_id}: upload to webhook") and "webhook POST try 1" in out


def test_every_metric_document_in_the_logs_is_valid_emf(flow, stack):
    documents = list(emf.documents(entries(stack)))
    assert documents
    assert [emf_schema.problems(document) for document in documents] == [[]] * len(documents)


def test_the_metrics_command_totals_the_flow(flow, stack, capsys):
    assert metrics_command.main(["--logs", str(stack.log_dir)]) == 0
    out = capsys.readouterr().out
    for name in ("ImagesAccepted", "ImagesDone", "RecognitionLatency", "WebhooksDelivered", "EndToEndLatency"):
        assert name in out, out


def test_ready_means_rekognition_has_served_a_call_from_s3_and_left_nothing_behind(stack):
    skip_on_ministack(
        stack, "ready waits for the deploy and warm queue consumers, not a warm Rekognition (fidelity row 49)"
    )
    if stack.stack.options.rekognition != "local":
        pytest.skip("only the local Rekognition service is warmed; moto's answers at once")
    assert stack.stack.rekognition.warmup_ms is not None
    assert requests.get(f"{stack.stack.rekognition.url}/health", timeout=5).json()["ready"] is True
    listed = stack.session.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="warmup/")
    assert listed.get("KeyCount", 0) == 0
