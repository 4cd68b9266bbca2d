import pytest

from lib.domain import webhooks

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
