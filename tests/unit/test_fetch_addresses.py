"""The address half of the SSRF guard: which IPs are public, and how the allow-list overrides that."""

import ipaddress
import socket

import pytest

from lib.domain.errors import UrlNotAllowed
from lib.fetching.addresses import AddressPolicy, embedded_ipv4, non_public_reason, parse_allow_entry
from lib.fetching.fetch import FetchPolicy, SafeFetcher

# Every class of non-public address the fetcher must refuse, with the phrase its refusal uses.
FORBIDDEN = [
    # loopback
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("127.1.2.3", "loopback"),
    ("::1", "loopback"),
    # RFC 1918
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("192.168.255.255", "private"),
    # carrier-grade NAT
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    # link-local, including the instance metadata service
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("febf:ffff::1", "link-local"),
    # unspecified / "this network"
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    # broadcast and multicast
    ("255.255.255.255", "broadcast"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    # unique-local and site-local IPv6
    ("fc00::1", "unique-local"),
    ("fd12:3456:789a::1", "unique-local"),
    ("fec0::1", "site-local"),
    # IPv4-mapped IPv6: judged by the embedded IPv4 address
    ("::ffff:127.0.0.1", "loopback address wrapped in IPv6"),
    ("::ffff:10.1.2.3", "private network address wrapped in IPv6"),
    ("::ffff:169.254.169.254", "link-local address"),
    ("::ffff:0.0.0.0", "unspecified"),
    # NAT64: well-known prefix judged by the embedded IPv4, local-use prefix always refused
    ("64:ff9b::7f00:1", "loopback address wrapped in IPv6"),
    ("64:ff9b::a9fe:a9fe", "link-local address"),
    ("64:ff9b::c0a8:101", "private network address wrapped in IPv6"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("64:ff9b:1:ffff::808:808", "local-use NAT64"),
    # 6to4: judged by the embedded IPv4
    ("2002:7f00:1::1", "loopback address wrapped in IPv6"),
    ("2002:a9fe:a9fe::", "link-local address"),
    ("2002:c0a8:101::1", "private network address wrapped in IPv6"),
    # Teredo
    ("2001::1", "Teredo"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    # deprecated IPv4-compatible IPv6
    ("::7f00:1", "IPv4-compatible"),
    ("::a9fe:a9fe", "IPv4-compatible"),
    # reserved, documentation, benchmarking, protocol assignments
    ("192.0.0.1", "protocol-assignment"),
    ("192.0.0.9", "protocol-assignment"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("240.0.0.1", "reserved"),
    ("250.1.2.3", "reserved"),
    ("192.88.99.1", "6to4 relay"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard-only"),
    ("5f00::1", "segment-routing"),
    ("2001:10::1", "not publicly routable"),  # ORCHID
    ("4000::1", "outside the IPv6 global unicast range"),
    ("e000::1", "outside the IPv6 global unicast range"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "52.95.110.1",
    "11.0.0.1",
    "126.255.255.255",
    "128.0.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "169.253.255.255",
    "169.255.0.1",
    "192.0.3.1",
    "198.17.255.255",
    "198.20.0.1",
    "223.255.255.254",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2a05:d018::1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN, ids=[address for address, _ in FORBIDDEN])
def test_given_a_non_public_address_when_judged_then_it_is_refused_with_its_class(address: str, reason: str) -> None:
    refusal = non_public_reason(ipaddress.ip_address(address))

    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize("address", PUBLIC)
def test_given_a_public_address_when_judged_then_it_is_allowed(address: str) -> None:
    assert non_public_reason(ipaddress.ip_address(address)) is None
    assert AddressPolicy().refusal(ipaddress.ip_address(address), 443) is None


def test_given_an_ipv6_address_with_a_zone_index_when_judged_then_it_is_refused() -> None:
    assert non_public_reason(ipaddress.ip_address("fe80::1%eth0")) is not None
    assert "zone" in (non_public_reason(ipaddress.ip_address("2606:4700::1%1")) or "")


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("2606:4700::1", None),
        ("64:ff9b:1::7f00:1", None),  # local-use NAT64 has no fixed embedding position
    ],
)
def test_given_an_ipv6_address_when_unwrapped_then_the_embedded_ipv4_is_found(
    address: str, embedded: str | None
) -> None:
    result = embedded_ipv4(ipaddress.IPv6Address(address))

    assert (str(result) if result else None) == embedded


# --- allow-list -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "network", "port"),
    [
        ("127.0.0.1", "127.0.0.1/32", None),
        ("127.0.0.1:8123", "127.0.0.1/32", 8123),
        ("10.0.0.0/8", "10.0.0.0/8", None),
        ("10.0.0.0/8:443", "10.0.0.0/8", 443),
        ("::1", "::1/128", None),
        ("[::1]", "::1/128", None),
        ("[::1]:8080", "::1/128", 8080),
        ("fd00::/8", "fd00::/8", None),
        ("[fd00::/8]:80", "fd00::/8", 80),
        ("  192.168.1.10:65535  ", "192.168.1.10/32", 65535),
    ],
)
def test_given_a_well_formed_allow_entry_when_parsed_then_network_and_port_are_read(
    entry: str, network: str, port: int | None
) -> None:
    parsed = parse_allow_entry(entry)

    assert (str(parsed.network), parsed.port) == (network, port)


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("localhost", "not an IP address"),
        ("localhost:8123", "not an IP address"),
        ("example.com", "not an IP address"),
        ("http://127.0.0.1:80", "not an IP address"),
        ("*", "not an IP address"),
        ("300.1.1.1", "not an IP address"),
        ("10.0.0.1/8", "not an IP address"),  # host bits set: almost certainly a typo
        ("1.2.3.4/33", "not an IP address"),
        ("127.0.0.1:0", "invalid port"),
        ("127.0.0.1:65536", "invalid port"),
        ("127.0.0.1:abc", "invalid port"),
        ("127.0.0.1:", "invalid port"),
        ("127.0.0.1:-1", "invalid port"),
        ("127.0.0.1:٨٠", "invalid port"),  # non-ASCII digits
        ("[::1", "without ']'"),
        ("[::1]x", "not ':port'"),
        ("[::1]:", "invalid port"),
        ("[127.0.0.1]:80", "only for IPv6"),
    ],
)
def test_given_a_malformed_allow_entry_when_parsed_then_value_error_explains_it(entry: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_allow_entry(entry)


def test_given_a_malformed_entry_when_the_policy_is_built_then_construction_fails() -> None:
    with pytest.raises(ValueError, match="localhost"):
        FetchPolicy(allowed=("127.0.0.1:8000", "localhost:8000"))


def test_given_a_single_string_instead_of_a_tuple_when_the_policy_is_built_then_it_is_rejected() -> None:
    with pytest.raises(TypeError, match="not a single string"):
        FetchPolicy(allowed="127.0.0.1:8000")  # type: ignore[arg-type]


def test_given_a_non_string_entry_when_parsed_then_type_error() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        parse_allow_entry(8000)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_bytes", 0), ("connect_timeout", 0), ("read_timeout", -1), ("total_timeout", 0), ("max_redirects", -1)],
)
def test_given_a_nonsensical_limit_when_the_policy_is_built_then_value_error(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        FetchPolicy(**{field: value})


@pytest.mark.parametrize(
    ("allowed", "address", "port", "expected_allowed"),
    [
        (("127.0.0.1:8123",), "127.0.0.1", 8123, True),
        (("127.0.0.1:8123",), "127.0.0.1", 8124, False),
        (("127.0.0.1:8123",), "127.0.0.2", 8123, False),
        (("127.0.0.1",), "127.0.0.1", 1, True),
        (("10.0.0.0/8",), "10.20.30.40", 80, True),
        (("10.0.0.0/8",), "11.0.0.1", 80, True),  # public anyway
        (("10.0.0.0/8",), "172.16.0.1", 80, False),
        (("10.0.0.0/8:443",), "10.1.1.1", 80, False),
        (("[::1]:8080",), "::1", 8080, True),
        (("[::1]:8080",), "::1", 8081, False),
        (("127.0.0.1:8123",), "::ffff:127.0.0.1", 8123, True),  # the kernel connects to 127.0.0.1
        (("127.0.0.1:8123",), "64:ff9b::7f00:1", 8123, False),  # NAT64 goes elsewhere: not covered
        (("127.0.0.1:8123",), "::1", 8123, False),  # a different address family is a different address
        ((), "169.254.169.254", 80, False),
        (("169.254.169.254/32:80", "127.0.0.1:1"), "169.254.169.254", 80, True),
    ],
)
def test_given_an_allow_list_when_an_address_and_port_are_judged_then_only_matching_entries_open_them(
    allowed: tuple[str, ...], address: str, port: int, expected_allowed: bool
) -> None:
    refusal = AddressPolicy(allowed).refusal(ipaddress.ip_address(address), port)

    assert (refusal is None) is expected_allowed


# --- the same classes, reached through a DNS name -------------------------------------------------
@pytest.mark.parametrize(("address", "reason"), FORBIDDEN, ids=[address for address, _ in FORBIDDEN])
def test_given_a_name_resolving_to_a_non_public_address_when_fetched_then_url_not_allowed_before_connecting(
    address: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse_to_connect(self: socket.socket, target: object) -> None:
        raise AssertionError(f"a connection to {target!r} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse_to_connect)
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return [address]

    with pytest.raises(UrlNotAllowed) as raised:
        SafeFetcher(FetchPolicy(), resolver=resolve).fetch("http://innocent.test/cat.jpg?token=s3cr3t")

    message = raised.value.message
    assert "innocent.test" in message
    assert reason in message
    # Neither the resolved address (internal DNS is not ours to reveal) nor the query string is echoed.
    assert address not in message
    assert "s3cr3t" not in message
    assert calls == [("innocent.test", 80)]
