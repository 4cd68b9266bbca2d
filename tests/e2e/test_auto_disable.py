"""Auto-disable, end to end: on a stack whose webhookDisableAfterSeconds is 3 (set as the stage
parameter, as `make local WEBHOOK_DISABLE_AFTER_SECONDS=3` would), an endpoint at the inbox that
always fails gets events until it is disabled; GET /webhooks/{id} says why, the deliver function
emits the metric the alarm watches, and a later event is skipped, not sent. Turning the endpoint
back on clears its failing spell.
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

    # WHEN its owner turns it back on THEN its failing spell starts afresh
    turned_on = system.http.patch(endpoint_url, json={"enabled": True}, timeout=20).json()
    assert turned_on["enabled"] is True and "failing_since" not in turned_on and "disabled_reason" not in turned_on
