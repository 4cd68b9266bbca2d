"""Webhook endpoint URLs (lib/fetching/endpoint_urls.py): https only unless allow-listed, public
addresses only, by literal and by DNS, each refusal with its code. No network: DNS is a fake."""

from __future__ import annotations

import pytest

from lib.domain.errors import EndpointUrlRefused
from lib.fetching.endpoint_urls import (
    MALFORMED,
    NOT_HTTPS,
    NOT_PUBLIC,
    UNRESOLVABLE,
    EndpointUrlPolicy,
    GuardedWebhookSender,
)

DNS = {
    "public.example": ["93.184.216.34"],
    "internal.example": ["10.0.0.7"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
}


def resolver(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError("no such host")
    return DNS[host]


def policy(*allowed: str) -> EndpointUrlPolicy:
    return EndpointUrlPolicy(tuple(allowed), resolver=resolver)


@pytest.mark.parametrize(
    "url, code",
    [
        ("http://public.example/hook", NOT_HTTPS),
        ("https://internal.example/hook", NOT_PUBLIC),
        ("https://mixed.example/hook", NOT_PUBLIC),
        ("https://metadata.example/latest", NOT_PUBLIC),
        ("https://169.254.169.254/latest/meta-data/", NOT_PUBLIC),
        ("https://127.0.0.1/hook", NOT_PUBLIC),
        ("https://[::1]/hook", NOT_PUBLIC),
        ("https://[::ffff:10.0.0.1]/hook", NOT_PUBLIC),
        ("https://2130706433/hook", NOT_PUBLIC),
        ("https://user:pass@public.example/hook", NOT_PUBLIC),
        ("https://nowhere.example/hook", UNRESOLVABLE),
        ("ftp://public.example/hook", NOT_PUBLIC),
        ("https://", MALFORMED),
        ("https://public.example/" + "a" * 3000, MALFORMED),
    ],
)
def test_refused_with_a_code(url, code):
    with pytest.raises(EndpointUrlRefused) as refused:
        policy().check(url)
    assert refused.value.code == code


def test_a_public_https_url_is_accepted():
    policy().check("https://public.example/hook?token=abc")


def test_an_allow_listed_local_receiver_may_use_plain_http_and_nothing_else_may():
    allowing = policy("127.0.0.1:8123")
    allowing.check("http://127.0.0.1:8123/r/alice")
    allowing.check("https://127.0.0.1:8123/r/alice")
    for url in ("http://127.0.0.1:8124/r/alice", "http://10.0.0.7/", "http://public.example/"):
        with pytest.raises(EndpointUrlRefused):
            allowing.check(url)


def test_at_delivery_a_host_that_now_resolves_to_a_private_address_is_refused_without_a_request():
    rebinding = dict(DNS)
    sender = GuardedWebhookSender(EndpointUrlPolicy((), resolver=lambda host, port: rebinding[host]))
    sender.policy.check("https://public.example/hook")  # public when it was registered
    rebinding["public.example"] = ["10.0.0.7"]
    reply = sender.post("https://public.example/hook", b"{}", {}, 5)
    assert reply.refused and reply.status is None and "private" in (reply.error or "")
