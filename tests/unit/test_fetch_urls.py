"""URL-level refusals of SafeFetcher: schemes, userinfo, malformed URLs, encoded hosts, names resolving inward.

Every test here must be decided before any socket connects: the `no_network` fixture turns any
connection attempt into a test failure.
"""

import socket
from collections.abc import Callable, Iterator

import pytest

from lib.domain.errors import DomainError, HostNotFound, InvalidRequest, UrlNotAllowed
from lib.fetching.addresses import AddressPolicy
from lib.fetching.fetch import FetchPolicy, SafeFetcher
from lib.fetching.guarded_http import ConnectGuard, FetchDeadline, is_noncanonical_numeric_host


class ConnectionAttempted(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: object) -> None:
        raise ConnectionAttempted(f"a connection to {address!r} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def resolver_answering(*addresses: str, calls: list[tuple[str, int]] | None = None) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append((host, port))
        return list(addresses)

    return resolve


def unused_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"the resolver should not have been asked about {host!r}")


def fetch_error(url: str, resolver: Callable[[str, int], list[str]] = unused_resolver, **policy: object) -> DomainError:
    fetcher = SafeFetcher(FetchPolicy(**policy), resolver=resolver)  # type: ignore[arg-type]
    with pytest.raises(DomainError) as raised:
        fetcher.fetch(url)
    return raised.value


# --- schemes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "ftp://example.com/image.jpg",
        "gopher://example.com:70/_GET",
        "dict://example.com:11211/stats",
        "ldap://example.com/",
        "ws://example.com/socket",
        "jar:http://example.com/a.jar!/",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "example.com/image.jpg",
        "//example.com/image.jpg",
        "/relative/path.jpg",
    ],
)
def test_given_a_scheme_other_than_http_or_https_when_fetched_then_url_not_allowed(url: str) -> None:
    error = fetch_error(url)

    assert isinstance(error, UrlNotAllowed)
    assert "http" in error.message


# --- userinfo -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://good@127.0.0.1/",
        "http://public.example@169.254.169.254/latest/meta-data/",
        "http://user:s3cr3t-pw@public.test/image.jpg",
        "https://:s3cr3t-pw@public.test/",
        "http://127.0.0.1:80@public.test/",
    ],
)
def test_given_a_url_with_credentials_when_fetched_then_url_not_allowed_without_echoing_them(url: str) -> None:
    error = fetch_error(url)

    assert isinstance(error, UrlNotAllowed)
    assert "credentials" in error.message
    assert "s3cr3t" not in error.message


# --- malformed ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("http://", "no host"),
        ("http:///image.jpg", "no host"),
        ("https://:443/", "no host"),
        ("http://exa mple.com/", "malformed"),
        ("http://example.com:99999/", "malformed"),
        ("http://example.com:0/", "port 0"),
        ("http://[::1/", "malformed"),
        ("http://example.com/\nHost: evil", "control characters"),
        ("http://exam\tple.com/", "control characters"),
        ("http://example.com/\x00", "control characters"),
        ("http://example.com/" + "a" * 9000, "longer than 8192"),
    ],
)
def test_given_a_malformed_url_when_fetched_then_invalid_request(url: str, complaint: str) -> None:
    error = fetch_error(url)

    assert type(error) is InvalidRequest
    assert complaint in error.message


def test_given_something_that_is_not_a_string_when_fetched_then_invalid_request() -> None:
    assert type(fetch_error(None)) is InvalidRequest  # type: ignore[arg-type]


# --- literal addresses ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1./",  # trailing dot: still the loopback literal
        "http://127.0.0.1:8080/image.jpg",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0:80/",
        "http://255.255.255.255/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00:ec2::254]/",  # the metadata service's IPv6 address
        "HTTPS://[FC00::1]:8443/",
    ],
)
def test_given_a_literal_non_public_address_when_fetched_then_url_not_allowed(url: str) -> None:
    assert isinstance(fetch_error(url), UrlNotAllowed)


# --- encoded numeric hosts ------------------------------------------------------------------------
ENCODED_LOOPBACK = [
    "2130706433",  # decimal 127.0.0.1
    "017700000001",  # octal
    "0x7f000001",  # hex
    "0x7F.1",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "0177.0.0.01",
    "127.1",
    "127.0.1",
    "0",
    "0x",
    "2852039166",  # 169.254.169.254
    "0xa9.0xfe.0xa9.0xfe",
    "0251.0376.0251.0376",
    "1.2.3.4.5",
    "example.0x1",
]


@pytest.mark.parametrize("host", ENCODED_LOOPBACK)
def test_given_a_numeric_host_in_a_non_standard_form_when_fetched_then_url_not_allowed(host: str) -> None:
    error = fetch_error(f"http://{host}/image.jpg")

    assert isinstance(error, UrlNotAllowed)
    assert "non-standard" in error.message


@pytest.mark.parametrize("host", ENCODED_LOOPBACK)
def test_given_an_encoded_host_when_checked_then_it_is_recognized_as_non_canonical(host: str) -> None:
    assert is_noncanonical_numeric_host(host)


@pytest.mark.parametrize(
    "host", ["1.2.3.4", "8.8.8.8", "example.com", "1password.com", "0x.example.com", "123.example", "a.b.c.d", "::1"]
)
def test_given_a_name_or_canonical_ipv4_when_checked_then_it_is_not_flagged_as_encoded(host: str) -> None:
    assert not is_noncanonical_numeric_host(host)


# --- names that resolve to forbidden addresses (each forbidden class: see test_fetch_addresses) ---
@pytest.mark.parametrize(
    "answers",
    [
        ["93.184.216.34", "10.0.0.1"],
        ["10.0.0.1", "93.184.216.34"],
        ["2606:4700::1", "::1"],
        ["8.8.8.8", "::ffff:169.254.169.254"],
    ],
)
def test_given_a_name_with_one_private_answer_among_public_ones_when_fetched_then_url_not_allowed(
    answers: list[str],
) -> None:
    assert isinstance(fetch_error("https://mixed.test/", resolver_answering(*answers)), UrlNotAllowed)


def test_given_an_internationalised_name_when_resolved_then_the_resolver_sees_its_ascii_form() -> None:
    calls: list[tuple[str, int]] = []

    error = fetch_error("https://bücher.test:8443/", resolver_answering("192.168.1.1", calls=calls))

    assert isinstance(error, UrlNotAllowed)
    assert calls == [("xn--bcher-kva.test", 8443)]


def test_given_an_allow_listed_address_on_another_port_when_fetched_then_url_not_allowed() -> None:
    error = fetch_error("http://fixture.test:9999/", resolver_answering("127.0.0.1"), allowed=("127.0.0.1:8123",))

    assert isinstance(error, UrlNotAllowed)


def test_given_a_literal_allow_listed_address_on_another_port_when_fetched_then_url_not_allowed() -> None:
    assert isinstance(fetch_error("http://127.0.0.1:9999/", allowed=("127.0.0.1:8123",)), UrlNotAllowed)


# --- resolution failures --------------------------------------------------------------------------
def test_given_a_name_that_does_not_resolve_when_fetched_then_host_not_found() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    error = fetch_error("http://nowhere.test/", failing)

    assert type(error) is HostNotFound and error.code == "host_not_found"
    assert "could not be resolved" in error.message


def test_given_a_resolver_with_no_answers_when_fetched_then_host_not_found() -> None:
    assert type(fetch_error("http://empty.test/", resolver_answering())) is HostNotFound


def test_given_a_resolver_answer_that_is_not_an_ip_when_fetched_then_url_not_allowed() -> None:
    assert isinstance(fetch_error("http://weird.test/", resolver_answering("not-an-ip")), UrlNotAllowed)


def test_given_the_default_resolver_when_localhost_is_fetched_then_url_not_allowed() -> None:
    fetcher = SafeFetcher(FetchPolicy())

    with pytest.raises(UrlNotAllowed, match="'localhost' resolves to a loopback address"):
        fetcher.fetch("http://localhost/")


# --- the connect-time guard on its own (the authority behind the early URL checks) ----------------
@pytest.fixture
def guard() -> Iterator[ConnectGuard]:
    deadline = FetchDeadline(5.0)
    yield ConnectGuard(
        AddressPolicy(("127.0.0.1:8123",)), resolver_answering("10.0.0.1"), deadline, connect_timeout=1.0
    )
    deadline.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "::ffff:169.254.169.254", "169.254.169.254."])
def test_given_a_literal_host_when_the_guard_checks_it_then_it_is_refused_without_resolving(
    guard: ConnectGuard, host: str
) -> None:
    with pytest.raises(UrlNotAllowed, match="is a"):
        guard.checked_addresses(host, 80)


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "0"])
def test_given_an_encoded_host_when_the_guard_checks_it_then_it_is_refused_without_resolving(
    guard: ConnectGuard, host: str
) -> None:
    with pytest.raises(UrlNotAllowed, match="non-standard form"):
        guard.checked_addresses(host, 80)


def test_given_a_name_when_the_guard_checks_it_then_its_resolved_answers_are_judged(guard: ConnectGuard) -> None:
    with pytest.raises(UrlNotAllowed, match="'name.test' resolves to a private network address"):
        guard.checked_addresses("name.test", 80)


def test_given_an_allow_listed_literal_when_the_guard_checks_it_then_the_address_is_returned(
    guard: ConnectGuard,
) -> None:
    assert [str(address) for address in guard.checked_addresses("127.0.0.1", 8123)] == ["127.0.0.1"]
