"""Auto-disable, end to end: on a stack whose webhookDisableAfterSeconds is 3 (set as the stage
parameter, as `make local WEBHOOK_DISABLE_AFTER_SECONDS=3` would), an endpoint at the inbox that
always fails gets events until it is disabled; GET /webhooks/{id} says why, the deliver function
emits the metric the alarm watches, and a later event is skipped, not sent. Turning the endpoint
back on clears its failing spell, and a replay delivers what it skipped, once, with its webhook-id.
"""

from __future__ import annotations

import uuid

import pytest

from local.observability import emf, logs
from local.stack import LocalSystem
from tests.support.e2e_stack import Stack, stack_options
from tests.support.waiting import wait_until

STAGE = "e2e-disable"
SPAN_SECONDS = 3


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    # moto's Rekognition: this is about delivery. Retries at once (FAST_RETRIES), so the always
    # failing endpoint is tried again and again within the span.
    options = stack_options(
        stage=STAGE,
        rekognition="moto",
        webhook_disable_after_seconds=SPAN_SECONDS,
        log_dir=tmp_path_factory.mktemp("logs"),
    )
    with LocalSystem(options) as stack:
        yield Stack(stack)


def entries(system: Stack) -> list[dict]:
    return [entry for path in logs.log_files(system.log_dir) for entry in logs.json_lines(path)]


def test_an_endpoint_failing_for_the_span_is_disabled_and_later_events_are_skipped(system):
    name = f"r-{uuid.uuid4().hex[:10]}"
    response = system.http.post(
        f"{system.api}/webhooks",
        json={"url": f"{system.stack.endpoints.webhook_inbox.rstrip('/')}/r/{name}?fail=100"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    endpoint_url = f"{system.api}/webhooks/{response.json()['id']}"

    def endpoint() -> dict:
        return system.http.get(endpoint_url, timeout=20).json()

    def disabled_after_another_event() -> dict | None:
        body = endpoint()
        if not body["enabled"]:
            return body
        assert system.http.post(f"{endpoint_url}/test", timeout=20).status_code == 202
        return None

    # WHEN it gets events, every try failing THEN it is disabled once the span has passed
    shown = wait_until(disabled_after_another_event, 120, "the failing endpoint to be disabled", interval=1)
    attempts = system.inbox.receivers.deliveries(name)
    assert attempts and {a["status"] for a in attempts} == {500}
    assert shown["failing_since"] <= shown["updated_at"]
    for part in ("disabled automatically", shown["failing_since"], "HTTP 500", "3 seconds", "PATCH enabled: true"):
        assert part in shown["disabled_reason"], shown["disabled_reason"]

    # AND the deliver function emitted the metric its alarm watches, and the outcome, by no endpoint
    def emitted(metric: str, dimension: str, value: str) -> bool:
        found = emf.totals(emf.documents(entries(system)))
        return any(
            name == metric and (dimension, value) in dimensions and sum(series.values) >= 1
            for (_, name, dimensions), series in found.items()
        )

    wait_until(lambda: emitted("WebhookEndpointsDisabled", "Cause", "failing"), 30, "WebhookEndpointsDisabled")
    assert emitted("EndpointDeliveries", "Outcome", "disabled")
    endpoint_id = shown["id"]
    assert not any(endpoint_id in str(document) for document in emf.documents(entries(system)))

    # WHEN an image's event arrives while it is off THEN it is skipped: logged, not sent
    upload = system.upload_url("chelsea.jpg")
    assert upload.status_code == 202, upload.text
    webhook_id = f"msg_{upload.json()['image_id']}"
    [skipped] = wait_until(
        lambda: [
            e
            for e in entries(system)
            if e.get("message") == "endpoint skipped"
            and e.get("webhook_id") == webhook_id
            and e.get("endpoint_id") == endpoint_id
        ],
        60,
        "the image's event to be skipped for the disabled endpoint",
    )
    assert "disabled" in skipped["reason"]
    assert not [a for a in system.inbox.receivers.deliveries(name) if a["headers"].get("webhook-id") == webhook_id]
    wait_until(lambda: emitted("EndpointDeliveries", "Outcome", "skipped"), 30, "a skipped outcome counted")

    # AND the delivery log shows it skipped, with why; it cannot be replayed while the endpoint is off
    def skipped_in_the_log() -> list[dict]:
        response = system.http.get(f"{endpoint_url}/deliveries", params={"status": "skipped"}, timeout=20)
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["webhook_id"] == webhook_id]

    [logged] = wait_until(skipped_in_the_log, 30, "the skipped message in the delivery log")
    assert "disabled" in logged["reason"] and logged["attempts"] == []
    replay_url = f"{endpoint_url}/replay"
    assert system.http.post(replay_url, json={"webhook_id": webhook_id}, timeout=20).status_code == 409

    # WHEN its owner points it at a healthy receiver and turns it back on THEN its failing spell is over
    healthy = f"r-{uuid.uuid4().hex[:10]}"
    healthy_url = f"{system.stack.endpoints.webhook_inbox.rstrip('/')}/r/{healthy}"
    turned_on = system.http.patch(endpoint_url, json={"url": healthy_url, "enabled": True}, timeout=20).json()
    assert turned_on["enabled"] is True and "failing_since" not in turned_on and "disabled_reason" not in turned_on
    # AND what it skipped meanwhile is replayed: delivered once, with its original webhook-id
    replay = system.http.post(replay_url, json={"since": logged["created_at"]}, timeout=20)
    assert replay.status_code == 202, replay.text
    assert webhook_id in replay.json()["webhook_ids"]
    wait_until(
        lambda: [d for d in system.inbox.receivers.deliveries(healthy) if d["headers"].get("webhook-id") == webhook_id],
        60,
        "the skipped event replayed to the healthy receiver",
    )
    wait_until(lambda: not skipped_in_the_log(), 30, "the replayed message to leave the skipped state")

    # The log records the attempt after the receiver answered it: wait for the record, not the POST.
    def delivered_in_the_log() -> list[dict]:
        page = system.http.get(f"{endpoint_url}/deliveries", params={"status": "delivered"}, timeout=20).json()
        return [item for item in page["items"] if item["webhook_id"] == webhook_id]

    [entry] = wait_until(delivered_in_the_log, 30, "the replayed message delivered in the log")
    assert entry["attempts"][-1]["replay"] is True and entry["attempts"][-1]["status_code"] == 204
    arrived = [d for d in system.inbox.receivers.deliveries(healthy) if d["headers"].get("webhook-id") == webhook_id]
    assert len(arrived) == 1
