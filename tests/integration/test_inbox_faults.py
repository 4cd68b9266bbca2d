"""The webhook inbox's fault mode, from the sender's side: each kind fails the way a real receiver does."""

import time

import pytest
import requests

from lib.domain import webhooks
from local.sidecars import webhook_faults
from local.sidecars.inbox import WebhookInbox
from local.sidecars.webhook_faults import WebhookFaults

SECRET = webhooks.generate_secret()


@pytest.fixture
def inbox_with(request):
    started = []

    def start(kind: str, rate: float = 1.0) -> WebhookInbox:
        inbox = WebhookInbox(SECRET, faults=WebhookFaults(rate, hold_seconds=1.0, kinds=(kind,)))
        inbox.start()
        started.append(inbox)
        return inbox

    yield start
    for inbox in started:
        inbox.stop()


def post(inbox: WebhookInbox, timeout: float = 5.0) -> requests.Response:
    body = b'{"type":"image.recognized","timestamp":"t","data":{"image_id":"abc"}}'
    headers = webhooks.signed_headers(SECRET, "msg_abc", body)
    return requests.post(inbox.url, data=body, headers=headers, timeout=timeout)


def test_given_server_errors_then_500_and_the_delivery_is_recorded_as_failed(inbox_with):
    inbox = inbox_with(webhook_faults.SERVER_ERROR)

    assert post(inbox).status_code == 500
    [delivery] = inbox.deliveries()
    assert (delivery.status, delivery.fault, delivery.verified) == (500, "500", True)


def test_given_back_pressure_then_429_with_retry_after(inbox_with):
    response = post(inbox_with(webhook_faults.TOO_MANY_REQUESTS))

    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_given_a_timeout_fault_then_the_sender_times_out(inbox_with):
    inbox = inbox_with(webhook_faults.TIMEOUT)

    with pytest.raises(requests.Timeout):
        post(inbox, timeout=0.3)
    assert [d.status for d in inbox.deliveries()] == [0]


def test_given_a_reset_fault_then_the_connection_breaks(inbox_with):
    inbox = inbox_with(webhook_faults.RESET)

    with pytest.raises(requests.ConnectionError):
        post(inbox)
    assert [(d.status, d.fault) for d in inbox.deliveries()] == [(0, "reset")]


def test_given_no_fault_drawn_then_the_delivery_is_accepted(inbox_with):
    inbox = inbox_with(webhook_faults.RESET, rate=0.0)

    assert post(inbox).status_code == 204
    assert [(d.status, d.fault) for d in inbox.deliveries()] == [(204, "")]


def wait_for_answers(inbox: WebhookInbox, name: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answered = [d for d in inbox.receivers.deliveries(name) if d["answered"]]
        if len(answered) == count:
            return answered
        time.sleep(0.02)
    raise AssertionError(f"{name}: {count} answers not given in 10 s")


def test_a_named_receiver_records_whether_its_sender_was_still_waiting_for_the_answer(inbox_with):
    inbox = inbox_with(webhook_faults.RESET, rate=0.0)

    # GIVEN a slow receiver and one sender that waits for it and one that times out first
    assert requests.post(f"{inbox.url}r/slow?delay_ms=300", data=b"{}", timeout=5).status_code == 204
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{inbox.url}r/slow?delay_ms=300", data=b"{}", timeout=0.05)

    # THEN both answers are 204, and only the second is marked as given to a sender that had gone
    answered = wait_for_answers(inbox, "slow", 2)
    assert [(d["status"], d["sender_gone"]) for d in answered] == [(204, False), (204, True)]
