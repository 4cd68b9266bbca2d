"""Every way in leaves a whole trace and is counted once: by URL, by body, by presigned POST,
refused at admission, FAILED in recognition. One image each, on the session's stack."""

from __future__ import annotations

import pytest

from local.commands import trace as trace_command
from local.observability import emf, logs, trace
from local.paths import FIXTURES_DIR
from tests.support.e2e_stack import skip_on_ministack, unique_name
from tests.support.hostile_images import png_declaring
from tests.support.waiting import wait_until

NO_LOCAL_LOGS = "the trace reads the embedded runtime's platform lines and the gateway's access log (fidelity row 48)"
ROCKET = (FIXTURES_DIR / "rocket.jpg").read_bytes()
# A header that promises 200 x 200 pixels over 64 bytes of data: it passes the checks on the way in,
# which read headers only, and Rekognition cannot decode it.
UNDECODABLE_PNG = png_declaring(200, 200)

RECOGNITION_STEPS = ["wait S3 -> SNS -> SQS", "recognize λ", "wait SNS -> SQS", "deliver (try 1) λ"]
ADMISSION_STEPS = ["API POST /uploads", "client POST to S3", "wait S3 -> SNS -> SQS", "recognize (admission) λ"]
PATHS = {
    "by url": (["API GET /", *RECOGNITION_STEPS], "DONE; webhook delivered on try 1 (HTTP 204)"),
    "by body": (["API POST /images", *RECOGNITION_STEPS], "DONE; webhook delivered on try 1 (HTTP 204)"),
    "by presigned post": ([*ADMISSION_STEPS, *RECOGNITION_STEPS], "DONE; webhook delivered on try 1 (HTTP 204)"),
    "refused at admission": (
        [*ADMISSION_STEPS, "wait SNS -> SQS", "deliver (try 1) λ"],
        "FAILED, refused at admission (unsupported_media_type: ",
    ),
    "failed in recognition": (
        ["API POST /images", *RECOGNITION_STEPS],
        "FAILED, rejected by recognition (Rekognition rejected the image (InvalidImageFormatException)",
    ),
}


def entries(stack) -> list[dict]:
    return [entry for path in logs.log_files(stack.log_dir) for entry in logs.json_lines(path)]


def counted(stack, *names: str) -> float:
    """The totals of these counts over every metric document so far (without the per-reason splits)."""
    found = emf.totals(emf.documents(entries(stack)))
    return sum(
        sum(series.values)
        for (_, name, dimensions), series in found.items()
        if name in names and all(key == "service" for key, _ in dimensions)
    )


def presigned(stack, data: bytes, content_type: str) -> str:
    opened = stack.http.post(
        f"{stack.api}/uploads", json={"name": unique_name(), "content_type": content_type}, timeout=10
    ).json()
    form = opened["upload"]
    sent = stack.http.post(form["url"], data=form["fields"], files={"file": ("f", data, content_type)}, timeout=30)
    assert sent.status_code == 204, sent.text
    return opened["image_id"]


def by_body(stack, data: bytes, content_type: str) -> str:
    response = stack.http.post(
        f"{stack.api}/images?name={unique_name()}", data=data, headers={"content-type": content_type}, timeout=30
    )
    assert response.status_code == 202, response.text
    return response.json()["image_id"]


@pytest.fixture(scope="module")
def flows(stack):
    """Each path's image, delivered, with its trace complete; and the counts the five of them added."""
    skip_on_ministack(stack, NO_LOCAL_LOGS)
    if stack.stack.options.rekognition != "local":
        pytest.skip("FAILED in recognition needs the local Rekognition: moto's labels any bytes")
    stack.wait_drained()  # nothing of an earlier test still counting
    before = counted(stack, "ImagesAccepted"), counted(stack, "ImagesDone", "ImagesFailed")
    images = {
        "by url": stack.upload_url("chelsea.jpg").json()["image_id"],
        "by body": by_body(stack, ROCKET, "image/jpeg"),
        "by presigned post": presigned(stack, ROCKET, "image/jpeg"),
        "refused at admission": presigned(stack, b"<html>not an image</html>", "image/jpeg"),
        "failed in recognition": by_body(stack, UNDECODABLE_PNG, "image/png"),
    }
    traces = {}
    for path, image_id in images.items():
        wait_until(lambda image_id=image_id: stack.deliveries_for(image_id), 60, f"the webhook of {path}")
        traces[path] = wait_until(
            lambda image_id=image_id: (
                (found := trace.build(image_id, entries(stack))).webhook_answered_ms and not found.missing and found
            ),
            30,
            f"the whole trace of {path}",
        )
    stack.wait_drained()
    after = counted(stack, "ImagesAccepted"), counted(stack, "ImagesDone", "ImagesFailed")
    return images, traces, (after[0] - before[0], after[1] - before[1])


@pytest.mark.parametrize("path", PATHS)
def test_each_path_names_every_step_and_its_outcome(flows, path):
    _, traces, _ = flows
    steps, outcome = PATHS[path]
    built = traces[path]
    assert [hop.name for hop in built.steps if hop.name != "poller -> invoke"] == steps, built.render()
    assert built.outcome.startswith(outcome) and built.missing == [], built.render()


def test_the_trace_command_says_why_an_upload_never_reached_recognition(flows, stack, capsys):
    images, _, _ = flows
    assert trace_command.main([images["refused at admission"], "--logs", str(stack.log_dir)]) == 0
    out = capsys.readouterr().out
    assert "outcome: FAILED, refused at admission (unsupported_media_type: " in out and "missing" not in out


def test_every_accepted_image_is_counted_once_whatever_its_path(flows):
    _, _, (accepted, finished) = flows
    # Refused at admission is never accepted, yet ends FAILED like the four others end DONE or FAILED.
    assert (accepted, finished) == (len(PATHS) - 1, len(PATHS))
