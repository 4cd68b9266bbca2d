"""Webhook subscriptions, end to end, on one shared stack with AUTH=cognito and two users.

Alice registers endpoints at the inbox's named receivers (healthy, failing three times, filtered,
slow, gone) and Bob one; Alice's uploads then go to each of her endpoints on its own, signed with
its own secrets, while the stage's webhookUrl (the inbox's root) still receives every event. The
signatures are verified by the standardwebhooks and svix libraries. Afterwards no log of the run
holds a secret.
"""

from __future__ import annotations

import uuid

import pytest
import requests
import standardwebhooks.webhooks as standard
import svix.webhooks as svix

from lib.domain.model import utc_now
from local.commands import trace as trace_command
from local.commands.auth_token import issue_token
from local.stack import LocalSystem
from tests.support.contract import ContractSession
from tests.support.e2e_stack import FAST_RETRIES, stack_options, unique_name
from tests.support.waiting import wait_until

STAGE = "e2e-webhooks"
ALICE, BOB = "alice@example.com", "bob@example.com"


class Owner:
    """One user of the API: their token, the endpoints they registered and the secrets shown to them."""

    def __init__(self, stack: LocalSystem, user: str):
        cognito = stack.session().client("cognito-idp")
        self.http = ContractSession(stack.endpoints.api)
        self.http.headers["authorization"] = f"Bearer {issue_token(cognito, stack.topology, user)}"
        self.api = stack.endpoints.api
        self.secrets: list[str] = []
        self.registered: list[dict] = []  # the endpoints as registration answered, oldest first

    def register(self, url: str, **request) -> dict:
        response = self.http.post(f"{self.api}/webhooks", json={"url": url, **request}, timeout=20)
        assert response.status_code == 201, response.text
        self.secrets.append(response.json()["secret"])
        self.registered.append(response.json())
        return response.json()

    def endpoint(self, endpoint_id: str) -> requests.Response:
        return self.http.get(f"{self.api}/webhooks/{endpoint_id}", timeout=20)

    def rotate(self, endpoint_id: str, overlap_seconds: int) -> str:
        response = self.http.post(
            f"{self.api}/webhooks/{endpoint_id}/rotate-secret", json={"overlap_seconds": overlap_seconds}, timeout=20
        )
        assert response.status_code == 200, response.text
        self.secrets.append(response.json()["secret"])
        return response.json()["secret"]

    def upload(self, fixtures: str) -> str:
        query = {"url": f"{fixtures}/chelsea.jpg", "name": unique_name()}
        response = self.http.post(f"{self.api}/images", json=query, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["image_id"]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    # moto's Rekognition: these tests are about delivery. Four deliver workers, so that a slow
    # endpoint holding one of them is not what decides whether the others wait; a short webhook
    # timeout, so that the stop does not wait long for the slow endpoint's last try.
    options = stack_options(
        stage=STAGE,
        auth="cognito",
        rekognition="moto",
        max_workers=4,
        log_dir=tmp_path_factory.mktemp("logs"),
        function_environment={"deliver": {**FAST_RETRIES["deliver"], "WEBHOOK_TIMEOUT_SECONDS": "3"}},
    )
    with LocalSystem(options) as stack:
        yield stack


@pytest.fixture(scope="module")
def alice(system):
    return Owner(system, ALICE)


@pytest.fixture(scope="module")
def bob(system):
    return Owner(system, BOB)


def receiver(system: LocalSystem, query: str = "") -> tuple[str, str]:
    """A fresh named receiver: (its URL to register, its name)."""
    name = f"r-{uuid.uuid4().hex[:10]}"
    return f"{system.endpoints.webhook_inbox.rstrip('/')}/r/{name}{query}", name


def received(system: LocalSystem, name: str, webhook_id: str | None = None) -> list[dict]:
    deliveries = system.inbox.receivers.deliveries(name)
    return [d for d in deliveries if webhook_id is None or d["headers"].get("webhook-id") == webhook_id]


def delivered(system: LocalSystem, name: str, webhook_id: str) -> list[dict]:
    return [d for d in received(system, name, webhook_id) if 200 <= d["status"] < 300]


def traced(system: LocalSystem, image_id: str, capsys) -> str:
    """What `python -m local trace IMAGE_ID` prints for the image, from this stack's logs."""
    capsys.readouterr()
    trace_command.main([image_id, "--logs", str(system.options.log_dir)])
    return capsys.readouterr().out


def verifies(secret: str, delivery: dict) -> bool:
    """Whether both libraries accept the delivery with this secret (and a library never disagrees)."""
    verdicts = []
    for library in (standard, svix):
        try:
            library.Webhook(secret).verify(delivery["body"], delivery["headers"])
            verdicts.append(True)
        except Exception:  # each library raises its own verification error
            verdicts.append(False)
    assert len(set(verdicts)) == 1, f"standardwebhooks and svix disagree: {verdicts}"
    return verdicts[0]


def test_each_endpoint_of_the_owner_gets_the_event_on_its_own(system, alice, bob, capsys):
    healthy_url, healthy = receiver(system)
    failing_url, failing = receiver(system, "?fail=3")
    filtered_url, filtered = receiver(system)
    gone_url, gone = receiver(system, "?status=410")
    bobs_url, bobs = receiver(system)
    alice.register(healthy_url)
    alice.register(failing_url)
    alice.register(filtered_url, events=["image.failed", "image.deleted"])
    gone_endpoint = alice.register(gone_url)
    bob.register(bobs_url)

    image_id = alice.upload(system.endpoints.fixtures)
    webhook_id = f"msg_{image_id}"

    wait_until(lambda: delivered(system, healthy, webhook_id), 60, "the healthy endpoint's delivery")
    wait_until(lambda: delivered(system, failing, webhook_id), 60, "the failing endpoint's delivery after retries")
    # The failing one: three 500s, then one 2xx, always the same webhook-id.
    assert [d["status"] for d in received(system, failing)] == [500, 500, 500, 204]
    assert {d["headers"]["webhook-id"] for d in received(system, failing)} == {webhook_id}
    [healthy_delivery] = received(system, healthy)
    assert healthy_delivery["status"] == 204 and '"type":"image.recognized"' in healthy_delivery["body"]
    assert verifies(alice.secrets[0], healthy_delivery) and not verifies(alice.secrets[1], healthy_delivery)

    # 410 disables the endpoint, and says why.
    wait_until(lambda: not alice.endpoint(gone_endpoint["id"]).json()["enabled"], 60, "the 410 endpoint disabled")
    assert "410" in alice.endpoint(gone_endpoint["id"]).json()["disabled_reason"]
    # The stage's webhookUrl still receives every event, the operator's way.
    wait_until(lambda: any(d.webhook_id == webhook_id for d in system.inbox.deliveries()), 60, "the stage webhook")
    # Settled: each endpoint got exactly one 2xx; the filter and the other owner got nothing.
    wait_until(lambda: system_drained(system), 60, "the delivery queues to drain")
    assert len(delivered(system, healthy, webhook_id)) == len(delivered(system, failing, webhook_id)) == 1
    assert received(system, filtered) == [] and received(system, bobs) == []
    # Bob cannot see Alice's endpoint: it answers 404, as a missing one does.
    assert bob.endpoint(gone_endpoint["id"]).status_code == 404
    # `python -m local trace` lists each endpoint's attempts for the image, from the deliver logs.
    shown = traced(system, image_id, capsys)
    failing_id, healthy_id = alice.registered[1]["id"], alice.registered[0]["id"]
    assert f"endpoint {healthy_id}, {webhook_id} image.recognized: delivered after 1 try" in shown
    assert f"endpoint {failing_id}, {webhook_id} image.recognized: delivered after 4 tries" in shown
    assert f"endpoint {gone_endpoint['id']}, {webhook_id} image.recognized: failed for good after 1 try" in shown
    assert shown.count("retry     POST") >= 3 and "HTTP 500" in shown and "://" not in shown.split("endpoints:")[1]


def test_a_slow_endpoint_does_not_delay_a_healthy_one(system, alice):
    slow_url, slow = receiver(system, "?delay_ms=20000")
    healthy_url, healthy = receiver(system)
    slow_endpoint = alice.register(slow_url)
    alice.register(healthy_url)
    # WHEN one event goes to both, and the slow endpoint holds its request for 20 s
    first = alice.upload(system.endpoints.fixtures)
    wait_until(lambda: received(system, slow, f"msg_{first}"), 60, "the slow endpoint to be called")
    wait_until(lambda: delivered(system, healthy, f"msg_{first}"), 60, "the healthy endpoint's delivery")
    # THEN the healthy endpoint has the same event while the slow one has not even answered it: its
    # delivery waited for nothing of the slow one's. (Measured within one event, so that a loaded
    # machine's slower pipeline for a second upload cannot pass for a delay. The sender gives up on
    # the slow one after 3 s and tries again: by the time this looks there may be more tries.)
    slow_request = received(system, slow, f"msg_{first}")[0]
    (healthy_delivery,) = delivered(system, healthy, f"msg_{first}")
    assert healthy_delivery["received_at"] < slow_request["received_at"] + 20
    assert alice.http.delete(f"{alice.api}/webhooks/{slow_endpoint['id']}", timeout=20).status_code == 204


def test_during_a_rotation_overlap_both_secrets_verify_and_with_overlap_zero_only_the_new(system, alice):
    url, name = receiver(system)
    endpoint = alice.register(url)
    original = alice.secrets[-1]
    rotated = alice.rotate(endpoint["id"], overlap_seconds=3600)
    assert alice.endpoint(endpoint["id"]).json()["previous_secret_expires_at"] > 0
    image_id = alice.upload(system.endpoints.fixtures)
    [overlapping] = wait_until(lambda: delivered(system, name, f"msg_{image_id}"), 60, "a delivery in the overlap")
    assert len(overlapping["headers"]["webhook-signature"].split()) == 2
    assert verifies(original, overlapping) and verifies(rotated, overlapping)

    newest = alice.rotate(endpoint["id"], overlap_seconds=0)
    image_id = alice.upload(system.endpoints.fixtures)
    [after] = wait_until(lambda: delivered(system, name, f"msg_{image_id}"), 60, "a delivery after overlap 0")
    assert verifies(newest, after)
    assert not verifies(rotated, after) and not verifies(original, after)


def test_registration_refuses_urls_that_are_not_allowed(system, alice):
    for url, code in (
        ("http://169.254.169.254/latest/meta-data/", "endpoint_url_not_public"),
        ("https://127.0.0.1/hook", "endpoint_url_not_public"),
        ("https://10.1.2.3/hook", "endpoint_url_not_public"),
        ("http://example.com/hook", "endpoint_url_not_https"),
    ):
        response = alice.http.post(f"{alice.api}/webhooks", json={"url": url}, timeout=20)
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), url


def test_failed_messages_show_in_the_log_and_a_replay_delivers_each_once_with_its_webhook_id(
    system, alice, bob, capsys
):
    failing_url, _ = receiver(system, "?fail=100")
    endpoint = alice.register(failing_url, events=["image.recognized"])
    secret, log = alice.secrets[-1], f"{alice.api}/webhooks/{endpoint['id']}/deliveries"
    since = utc_now()
    webhook_ids = {f"msg_{alice.upload(system.endpoints.fixtures)}" for _ in range(2)}

    def failed_for_good() -> list[dict]:
        response = alice.http.get(log, params={"status": "failed"}, timeout=20)
        assert response.status_code == 200, response.text
        items = [i for i in response.json()["items"] if i["webhook_id"] in webhook_ids]
        return items if len(items) == 2 and all(i["next_retry_at"] is None for i in items) else []

    # GIVEN every try failed: each message shows failed, with each attempt, and no retry left
    for item in wait_until(failed_for_good, 120, "both messages failed with their tries spent"):
        assert item["type"] == "image.recognized" and item["reason"] == "HTTP 500"
        assert len(item["attempts"]) == 8
        assert {(a["status_code"], a["error"], a["replay"]) for a in item["attempts"]} == {(500, "HTTP 500", False)}
    assert alice.http.get(log, params={"status": "delivered"}, timeout=20).json()["items"] == []
    assert bob.http.get(log, timeout=20).status_code == 404
    # WHEN the endpoint is pointed at a healthy receiver and everything failed since T is replayed
    healthy_url, healthy = receiver(system)
    assert alice.http.patch(f"{alice.api}/webhooks/{endpoint['id']}", json={"url": healthy_url}, timeout=20).ok
    replay = alice.http.post(f"{alice.api}/webhooks/{endpoint['id']}/replay", json={"since": since}, timeout=20)
    assert replay.status_code == 202, replay.text
    assert set(replay.json()["webhook_ids"]) == webhook_ids and replay.json()["replayed"] == 2
    # THEN each arrives once, with its original webhook-id, signed with the endpoint's secret
    for webhook_id in webhook_ids:
        wait_until(lambda webhook_id=webhook_id: delivered(system, healthy, webhook_id), 60, "the replayed delivery")
    wait_until(lambda: system_drained(system), 60, "the delivery queues to drain")
    arrived = received(system, healthy)
    assert sorted(d["headers"]["webhook-id"] for d in arrived) == sorted(webhook_ids)
    assert all(verifies(secret, d) for d in arrived)
    entries = alice.http.get(log, params={"status": "delivered"}, timeout=20).json()["items"]
    assert {e["webhook_id"] for e in entries} == webhook_ids
    assert all(e["attempts"][-1]["replay"] and e["attempts"][-1]["status_code"] == 204 for e in entries)
    # `python -m local trace` shows the receiver's status of each try, and marks the replay's
    shown = traced(system, next(iter(webhook_ids)).removeprefix("msg_"), capsys)
    assert shown.count("retry     POST") >= 7 and "HTTP 500; retry in" in shown
    assert "delivered POST" in shown and "HTTP 204 (a replay)" in shown


def test_no_log_of_the_run_holds_a_secret(system, alice, bob):
    """Last in the module: every secret shown so far, searched for in every log the run wrote."""
    secrets = alice.secrets + bob.secrets
    assert secrets
    logs = [path for path in system.options.log_dir.rglob("*") if path.is_file()]
    assert logs
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    assert "webhook endpoint registered" in text  # the logs are the run's own
    assert "whsec_" not in text
    for secret in secrets:
        assert secret.removeprefix("whsec_") not in text


def system_drained(system: LocalSystem) -> bool:
    sqs = system.session().client("sqs")
    for queue in ("IntegrationQueue", "EndpointDeliveryQueue"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=system.physical(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]):
            return False
    return True
