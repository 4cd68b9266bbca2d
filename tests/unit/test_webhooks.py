import pytest

from lib import webhooks

pytestmark = pytest.mark.unit

# The example from the Standard Webhooks specification's reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_specification_example():
    assert webhooks.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_signed_headers_verify_and_carry_the_id():
    secret = webhooks.generate_secret()
    headers = webhooks.signed_headers(secret, "msg_1", b"{}", now=1_700_000_000)
    assert headers["webhook-id"] == "msg_1"
    webhooks.verify(secret, headers, b"{}", now=1_700_000_010)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "webhook-id": "msg_other"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    ],
    ids=["body", "id", "timestamp", "missing-signature"],
)
def test_verification_rejects_any_tampering(tamper):
    secret = webhooks.generate_secret()
    headers, body = tamper(webhooks.signed_headers(secret, "msg_1", b'{"a":1}', now=1_700_000_000), b'{"a":1}')
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(secret, headers, body, now=1_700_000_000)


def test_verification_rejects_a_stale_timestamp():
    secret = webhooks.generate_secret()
    headers = webhooks.signed_headers(secret, "msg_1", b"{}", now=1_700_000_000)
    with pytest.raises(webhooks.WebhookVerificationError, match="tolerance"):
        webhooks.verify(secret, headers, b"{}", now=1_700_000_000 + 301)


def test_verification_accepts_any_of_several_signatures_for_key_rotation():
    old, new = webhooks.generate_secret(), webhooks.generate_secret()
    headers = webhooks.signed_headers(old, "msg_1", b"{}", now=1_700_000_000)
    headers["webhook-signature"] = (
        webhooks.sign(new, "msg_1", 1_700_000_000, b"{}") + " " + headers["webhook-signature"]
    )
    webhooks.verify(old, headers, b"{}", now=1_700_000_000)


def test_a_malformed_secret_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as raised:
        webhooks.sign("whsec_not base64!", "msg", 1, b"")
    assert "not base64" not in str(raised.value)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status):
    assert webhooks.decide(status, None, 1, 10, 900).action == webhooks.DELIVERED


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, None])
def test_throttling_server_errors_and_transport_errors_are_retried(status):
    decision = webhooks.decide(status, None, 1, 10, 900, error="timeout" if status is None else None)
    assert decision.action == webhooks.RETRY
    assert 5 <= decision.delay_seconds <= 10


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 410, 422])
def test_other_statuses_are_permanent(status):
    assert webhooks.decide(status, None, 1, 10, 900).action == webhooks.PERMANENT


def test_backoff_grows_with_the_attempt_and_is_capped():
    ceilings = [max(webhooks.backoff_seconds(n, 10, 900) for _ in range(50)) for n in (1, 2, 3, 4, 10)]
    assert ceilings[0] <= 10 < ceilings[1] <= 20 < ceilings[2] <= 40 < ceilings[3] <= 80
    assert ceilings[4] <= 900


def test_retry_after_seconds_is_honoured_when_longer_than_the_backoff():
    assert webhooks.decide(429, "120", 1, 10, 900).delay_seconds == 120


def test_retry_after_is_capped_by_the_maximum_delay():
    assert webhooks.decide(503, "999999", 1, 10, 900).delay_seconds == 900


def test_retry_after_as_an_http_date():
    assert webhooks.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420) == 60


def test_an_unreadable_retry_after_falls_back_to_backoff():
    assert webhooks.parse_retry_after("soon") is None
