"""Managing an owner's webhook endpoints (lib/usecases/subscriptions.py), on in-memory fakes."""

from __future__ import annotations

import dataclasses

import pytest

from lib.domain.endpoints import EVENT_TYPES, is_endpoint_id
from lib.domain.errors import EndpointUrlRefused, InvalidRequest, NotFound, TransientError
from lib.domain.events import TEST
from lib.usecases.subscriptions import MAX_ENDPOINTS_PER_OWNER, WRITE_ATTEMPTS, Subscriptions
from tests.support.fakes import FakeEndpointQueue, FakeEndpointTable, FakeEndpointUrlCheck, FakeSecretBox

URL = "https://receiver.example/hooks"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts():
    table, box, urls, queue, clock = (
        FakeEndpointTable(),
        FakeSecretBox(),
        FakeEndpointUrlCheck({"https://private.example/": "endpoint_url_not_public"}),
        FakeEndpointQueue(),
        Clock(),
    )
    return Subscriptions(table, box, urls, queue, clock), table, box, urls, queue, clock


def test_register_stores_only_ciphertext_and_returns_the_secret_once(parts):
    subscriptions, table, box, *_ = parts
    endpoint, secret = subscriptions.register("alice", {"url": URL, "description": "mine"})
    assert is_endpoint_id(endpoint.endpoint_id) and secret.startswith("whsec_")
    # At least 24 random bytes behind the prefix.
    import base64

    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    stored = table.get("alice", endpoint.endpoint_id)
    assert secret not in repr(stored.to_api(0)) and stored.secret_ciphertext != secret
    assert box.decrypt(stored.secret_ciphertext, "alice", endpoint.endpoint_id) == secret
    assert stored.events == EVENT_TYPES and stored.enabled


def test_the_event_filter_is_a_subset_of_the_three_types(parts):
    subscriptions, *_ = parts
    endpoint, _ = subscriptions.register("alice", {"url": URL, "events": ["image.failed", "image.deleted"]})
    assert endpoint.events == ("image.failed", "image.deleted")
    for bad in (["image.done"], [], "image.failed", [TEST]):
        with pytest.raises(InvalidRequest):
            subscriptions.register("alice", {"url": URL, "events": bad})


def test_a_refused_url_is_refused_with_its_code_and_nothing_is_stored(parts):
    subscriptions, table, *_ = parts
    with pytest.raises(EndpointUrlRefused) as refused:
        subscriptions.register("alice", {"url": "https://private.example/"})
    assert refused.value.code == "endpoint_url_not_public"
    assert table.endpoints == {}


def test_another_owners_endpoint_is_not_found_as_a_missing_one(parts):
    subscriptions, *_ = parts
    endpoint, _ = subscriptions.register("alice", {"url": URL})
    for action in (
        lambda: subscriptions.get("bob", endpoint.endpoint_id),
        lambda: subscriptions.update("bob", endpoint.endpoint_id, {"enabled": False}),
        lambda: subscriptions.delete("bob", endpoint.endpoint_id),
        lambda: subscriptions.rotate("bob", endpoint.endpoint_id, {}),
        lambda: subscriptions.send_test("bob", endpoint.endpoint_id),
        lambda: subscriptions.get("alice", "ep_missingmissingmissi"),
        lambda: subscriptions.get("alice", "../../etc"),
    ):
        with pytest.raises(NotFound):
            action()
    assert subscriptions.list("bob") == [] and len(subscriptions.list("alice")) == 1


def test_patch_changes_url_events_description_and_enabled_and_checks_the_url(parts):
    subscriptions, table, _, urls, *_ = parts
    endpoint, _ = subscriptions.register("alice", {"url": URL})
    changed = subscriptions.update(
        "alice",
        endpoint.endpoint_id,
        {"url": "https://other.example/", "events": ["image.recognized"], "description": "d", "enabled": False},
    )
    assert (changed.url, changed.events, changed.description, changed.enabled) == (
        "https://other.example/",
        ("image.recognized",),
        "d",
        False,
    )
    assert changed.disabled_reason == "disabled by its owner"
    assert urls.checked[-1] == "https://other.example/"
    with pytest.raises(EndpointUrlRefused):
        subscriptions.update("alice", endpoint.endpoint_id, {"url": "https://private.example/"})
    with pytest.raises(InvalidRequest):
        subscriptions.update("alice", endpoint.endpoint_id, {"secret": "whsec_x"})
    enabled = subscriptions.update("alice", endpoint.endpoint_id, {"enabled": True})
    assert enabled.enabled and not enabled.disabled_reason
    assert table.get("alice", endpoint.endpoint_id) == enabled


def test_rotation_keeps_the_old_secret_signing_for_the_overlap_then_only_the_new(parts):
    subscriptions, table, box, _, _, clock = parts
    endpoint, old = subscriptions.register("alice", {"url": URL})
    rotated, new = subscriptions.rotate("alice", endpoint.endpoint_id, {"overlap_seconds": 60})
    assert new != old
    signing = [box.decrypt(c, "alice", endpoint.endpoint_id) for c in rotated.signing_ciphertexts(clock.now)]
    assert signing == [new, old]
    assert rotated.to_api(clock.now)["previous_secret_expires_at"] == int(clock.now + 60)
    clock.now += 61
    assert [box.decrypt(c, "alice", endpoint.endpoint_id) for c in rotated.signing_ciphertexts(clock.now)] == [new]


def test_rotation_defaults_to_a_day_and_an_overlap_of_zero_drops_the_old_secret_at_once(parts):
    subscriptions, _, box, _, _, clock = parts
    endpoint, _ = subscriptions.register("alice", {"url": URL})
    rotated, _ = subscriptions.rotate("alice", endpoint.endpoint_id, {})
    assert rotated.previous_expires_at == clock.now + 24 * 3600
    again, newest = subscriptions.rotate("alice", endpoint.endpoint_id, {"overlap_seconds": 0})
    assert [box.decrypt(c, "alice", endpoint.endpoint_id) for c in again.signing_ciphertexts(clock.now)] == [newest]
    for bad in (-1, "60", True, 10**9):
        with pytest.raises(InvalidRequest):
            subscriptions.rotate("alice", endpoint.endpoint_id, {"overlap_seconds": bad})


def test_a_test_event_is_queued_for_that_endpoint_alone(parts):
    subscriptions, _, _, _, queue, _ = parts
    endpoint, _ = subscriptions.register("alice", {"url": URL})
    event = subscriptions.send_test("alice", endpoint.endpoint_id)
    [message] = queue.sent
    assert (message.endpoint_id, message.owner, message.event.type) == (endpoint.endpoint_id, "alice", TEST)
    assert message.event.id == event.id and event.id != subscriptions.send_test("alice", endpoint.endpoint_id).id


def test_delete_then_nothing_is_left(parts):
    subscriptions, table, *_ = parts
    endpoint, _ = subscriptions.register("alice", {"url": URL})
    subscriptions.delete("alice", endpoint.endpoint_id)
    assert table.endpoints == {}
    with pytest.raises(NotFound):
        subscriptions.delete("alice", endpoint.endpoint_id)


def test_an_owner_has_a_bounded_number_of_endpoints(parts):
    subscriptions, *_ = parts
    for _ in range(MAX_ENDPOINTS_PER_OWNER):
        subscriptions.register("alice", {"url": URL})
    with pytest.raises(InvalidRequest):
        subscriptions.register("alice", {"url": URL})
    subscriptions.register("bob", {"url": URL})


class Overtaken(FakeEndpointTable):
    """An endpoint table where other writes land between a request's read and its write: `meanwhile`
    runs before each of the next `times` saves."""

    def __init__(self, meanwhile, times: int = 1) -> None:
        super().__init__()
        self.meanwhile, self.times = meanwhile, times

    def save_changes(self, read, changed):
        if self.times:
            self.times -= 1
            self.meanwhile(self)
        return super().save_changes(read, changed)


def subscriptions_on(table: FakeEndpointTable) -> Subscriptions:
    return Subscriptions(table, FakeSecretBox(), FakeEndpointUrlCheck({}), FakeEndpointQueue(), Clock())


def test_a_patch_never_undoes_what_a_delivery_wrote_between_its_read_and_its_write():
    # GIVEN an endpoint that a delivery disables while a PATCH of its description is under way
    table = Overtaken(lambda t: t.disable_failing("alice", endpoint_id, "t0", "failing since t0", "t1"))
    subscriptions = subscriptions_on(table)
    endpoint_id = subscriptions.register("alice", {"url": URL})[0].endpoint_id
    table.mark_failing("alice", endpoint_id, "t0")

    subscriptions.update("alice", endpoint_id, {"description": "the staging receiver"})

    # THEN the description is changed and the endpoint stays disabled, with its failing spell
    stored = table.get("alice", endpoint_id)
    assert (stored.description, stored.enabled, stored.disabled_reason, stored.failing_since) == (
        "the staging receiver",
        False,
        "failing since t0",
        "t0",
    )


def test_a_change_to_the_same_field_meanwhile_makes_the_request_read_again_and_apply_itself_to_it():
    # GIVEN an owner disabling an endpoint while a delivery disables it first
    table = Overtaken(lambda t: t.disable("alice", endpoint_id, "the endpoint answered HTTP 410 Gone", "t1"))
    subscriptions = subscriptions_on(table)
    endpoint_id = subscriptions.register("alice", {"url": URL})[0].endpoint_id

    changed = subscriptions.update("alice", endpoint_id, {"enabled": False})

    # THEN the second read finds it disabled, and the reason it was disabled for is kept
    assert (changed.enabled, changed.disabled_reason) == (False, "the endpoint answered HTTP 410 Gone")
    assert table.get("alice", endpoint_id) == changed


def test_two_rotations_at_once_keep_both_new_secrets_signing():
    # GIVEN a rotation that lands while another is between its read and its write
    def other_rotation(t):
        nonlocal other_secret
        other_secret = subscriptions.rotate("alice", endpoint_id, {})[1]

    other_secret = ""
    table = Overtaken(other_rotation)
    subscriptions = subscriptions_on(table)
    endpoint_id = subscriptions.register("alice", {"url": URL})[0].endpoint_id

    _, secret = subscriptions.rotate("alice", endpoint_id, {})

    # THEN the last secret signs, and the other one, shown to its caller, still signs for the overlap
    stored, box = table.get("alice", endpoint_id), subscriptions.secrets
    assert box.decrypt(stored.secret_ciphertext, "alice", endpoint_id) == secret
    assert box.decrypt(stored.previous_ciphertext, "alice", endpoint_id) == other_secret != secret


def test_an_endpoint_changed_under_every_attempt_is_a_transient_error_and_one_deleted_is_not_found():
    # GIVEN another PATCH of the description landing before each of this one's writes
    edits = iter(range(WRITE_ATTEMPTS))

    def another_patch(t):
        stored = t.get("alice", endpoint_id)
        t.endpoints[("alice", endpoint_id)] = dataclasses.replace(stored, description=f"edit {next(edits)}")

    table = Overtaken(another_patch, times=WRITE_ATTEMPTS)
    subscriptions = subscriptions_on(table)
    endpoint_id = subscriptions.register("alice", {"url": URL})[0].endpoint_id

    with pytest.raises(TransientError):
        subscriptions.update("alice", endpoint_id, {"description": "mine"})
    assert table.get("alice", endpoint_id).description == f"edit {WRITE_ATTEMPTS - 1}"

    # AND one deleted between the read and the write is not found, and stays deleted
    gone = Overtaken(lambda t: t.delete("alice", endpoint_id))
    subscriptions = subscriptions_on(gone)
    endpoint_id = subscriptions.register("alice", {"url": URL})[0].endpoint_id
    with pytest.raises(NotFound):
        subscriptions.update("alice", endpoint_id, {"description": "x"})
    assert gone.get("alice", endpoint_id) is None
