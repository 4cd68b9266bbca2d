"""SafeFetcher against real loopback servers: success, headers, size limits, status codes, time limits, TLS."""

import datetime
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests.adapters

from lib.domain.errors import ConnectionRefused, DownloadTooSlow, FetchFailed, PayloadTooLarge
from lib.fetching.fetch import FetchPolicy, SafeFetcher
from lib.ports import FetchedImage
from tests.support.fetch_servers import (
    Counter,
    FixtureServer,
    RecordingListener,
    body,
    chunked,
    dribble,
    dribble_headers,
    elapsed,
    endless,
    stall,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PHOTO = (FIXTURES / "chelsea.jpg").read_bytes()


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    fixture = FixtureServer()
    yield fixture
    fixture.close()


def resolver_for(names: dict[str, str], calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [names[host]]

    return resolve


def fetcher_for(
    server: FixtureServer, resolver: Callable[[str, int], list[str]] | None = None, **policy: object
) -> SafeFetcher:
    return SafeFetcher(FetchPolicy(allowed=(server.allow_entry,), **policy), resolver=resolver)  # type: ignore[arg-type]


# --- success --------------------------------------------------------------------------------------
def test_given_an_allow_listed_server_when_an_image_is_fetched_then_the_bytes_of_that_url_are_returned(
    server: FixtureServer,
) -> None:
    url = server.route("/cat.jpg", body(PHOTO, content_type="image/jpeg"))

    fetched = fetcher_for(server).fetch(url + "?size=large")

    assert fetched == FetchedImage(content=PHOTO)
    assert [request.path for request in server.requests] == ["/cat.jpg?size=large"]


def test_given_an_upper_case_scheme_when_fetched_then_it_is_treated_as_http(server: FixtureServer) -> None:
    server.route("/cat.jpg", body(PHOTO))

    fetched = fetcher_for(server).fetch(f"HTTP://{server.authority}/cat.jpg")

    assert fetched.content == PHOTO
    assert [request.path for request in server.requests] == ["/cat.jpg"]


def test_given_a_name_from_the_resolver_when_fetched_then_the_checked_address_is_used_and_the_name_kept(
    server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/cat.jpg", body(PHOTO))
    calls: list[str] = []

    def no_system_dns(*args: object, **kwargs: object) -> None:
        raise AssertionError("the system resolver must not be consulted behind the checked resolver's back")

    monkeypatch.setattr(socket, "getaddrinfo", no_system_dns)
    fetcher = fetcher_for(server, resolver_for({"public.test": "127.0.0.1"}, calls))

    fetched = fetcher.fetch(server.url("/cat.jpg", host="public.test"))

    assert fetched.content == PHOTO
    assert calls == ["public.test"]  # one lookup, and the connection went to its (checked) answer
    assert server.requests[0].headers["Host"] == f"public.test:{server.port}"


def test_given_a_fetch_when_sent_then_only_our_headers_go_out(server: FixtureServer) -> None:
    url = server.route("/cat.jpg", body(PHOTO))

    fetcher_for(server, user_agent="test-agent/9").fetch(url)

    headers = {name.lower(): value for name, value in server.requests[0].headers.items()}
    assert headers["user-agent"] == "test-agent/9"
    assert headers["accept-encoding"] == "identity"
    assert "authorization" not in headers
    assert "cookie" not in headers


def test_given_an_ipv6_loopback_server_allow_listed_when_fetched_then_it_works() -> None:
    try:
        ipv6_server = FixtureServer("::1")
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    try:
        url = ipv6_server.route("/cat.jpg", body(PHOTO))
        assert url.startswith("http://[::1]:")

        assert fetcher_for(ipv6_server).fetch(url).content == PHOTO
    finally:
        ipv6_server.close()


def test_given_a_chunked_body_within_the_limit_when_fetched_then_it_is_reassembled(server: FixtureServer) -> None:
    url = server.route("/chunked", chunked([PHOTO[:1000], PHOTO[1000:20000], PHOTO[20000:]]))

    assert fetcher_for(server).fetch(url).content == PHOTO


def test_given_an_empty_successful_body_when_fetched_then_empty_content_is_returned(server: FixtureServer) -> None:
    url = server.route("/empty", body(b"", status=204))

    assert fetcher_for(server).fetch(url).content == b""


def test_given_a_server_with_a_missing_content_type_when_fetched_then_the_bytes_are_taken_all_the_same(
    server: FixtureServer,
) -> None:
    # The declared type is never trusted: the image checks sniff the bytes.
    url = server.route("/bare", body(PHOTO, content_type=None))

    assert fetcher_for(server).fetch(url).content == PHOTO


# --- size limits ----------------------------------------------------------------------------------
@pytest.mark.parametrize("declared_length", [-1, None], ids=["content-length", "close-delimited"])
def test_given_a_body_of_exactly_max_bytes_when_fetched_then_it_is_accepted(
    server: FixtureServer, declared_length: int | None
) -> None:
    url = server.route("/exact", body(b"x" * 5000, declared_length=declared_length))

    assert len(fetcher_for(server, max_bytes=5000).fetch(url).content) == 5000


@pytest.mark.parametrize("declared_length", [-1, None], ids=["content-length", "close-delimited"])
def test_given_a_body_one_byte_over_max_bytes_when_fetched_then_payload_too_large(
    server: FixtureServer, declared_length: int | None
) -> None:
    url = server.route("/over", body(b"x" * 5001, declared_length=declared_length))

    with pytest.raises(PayloadTooLarge, match="5000 bytes"):
        fetcher_for(server, max_bytes=5000).fetch(url)


def test_given_a_declared_length_over_the_limit_when_fetched_then_refused_before_reading_the_body(
    server: FixtureServer,
) -> None:
    url = server.route("/huge", stall(5.0, declared_length=50 * 1024 * 1024))  # declares 50 MB, sends nothing
    started = time.monotonic()

    with pytest.raises(PayloadTooLarge, match="52428800 bytes according to the server"):
        fetcher_for(server, max_bytes=1024 * 1024, read_timeout=3.0).fetch(url)

    assert elapsed(started) < 1.0  # did not wait for a body


def test_given_an_endless_body_without_length_when_fetched_then_the_download_is_abandoned_early(
    server: FixtureServer,
) -> None:
    counter = Counter()
    url = server.route("/endless", endless(counter))

    with pytest.raises(PayloadTooLarge, match="larger than the limit of 100000 bytes"):
        fetcher_for(server, max_bytes=100_000).fetch(url)

    assert counter.finished.wait(5.0), "the server should notice the client hung up"
    # Only what the socket buffers absorbed was sent; the server could have gone on to 200 MB.
    assert counter.sent < 32 * 1024 * 1024


def test_given_a_chunked_body_over_the_limit_when_fetched_then_payload_too_large(server: FixtureServer) -> None:
    url = server.route("/chunks", chunked([b"y" * 4000] * 10))

    with pytest.raises(PayloadTooLarge):
        fetcher_for(server, max_bytes=10_000).fetch(url)


def test_given_a_server_sending_more_than_it_declared_when_fetched_then_only_the_declared_bytes_are_read(
    server: FixtureServer,
) -> None:
    url = server.route("/liar", body(b"a" * 10 + b"b" * 50_000, declared_length=10))

    assert fetcher_for(server, max_bytes=1000).fetch(url).content == b"a" * 10


def test_given_a_server_sending_less_than_it_declared_when_fetched_then_fetch_failed(server: FixtureServer) -> None:
    def short_then_close(handler) -> None:  # declares 1000 bytes, sends 10, closes
        handler.close_connection = True
        body(b"z" * 10, declared_length=1000)(handler)

    url = server.route("/short", short_then_close)

    with pytest.raises(FetchFailed, match="broke off"):
        fetcher_for(server).fetch(url)


def test_given_a_compressed_body_when_fetched_then_fetch_failed_rather_than_inflating(server: FixtureServer) -> None:
    url = server.route("/gz", body(b"\x1f\x8b\x08\x00", headers=[("Content-Encoding", "gzip")]))

    with pytest.raises(FetchFailed, match=r"compressed \(gzip\)"):
        fetcher_for(server).fetch(url)


# --- status codes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (400, "Bad Request"),
        (403, "Forbidden"),
        (404, "Not Found"),
        (410, "Gone"),
        (500, "Internal Server Error"),
        (503, "Service Unavailable"),
        (599, "599"),
    ],
)
def test_given_an_error_status_when_fetched_then_fetch_failed_names_it(
    server: FixtureServer, status: int, phrase: str
) -> None:
    url = server.route("/error", body(b"nope", status=status, content_type="text/plain"))

    with pytest.raises(FetchFailed, match=f"HTTP {status}") as raised:
        fetcher_for(server).fetch(url)

    assert phrase in raised.value.message
    assert raised.value.code == ("remote_server_error" if status >= 500 else "remote_client_error")


# --- time limits ----------------------------------------------------------------------------------
def test_given_a_server_dribbling_the_body_when_fetched_then_the_total_deadline_stops_it(server: FixtureServer) -> None:
    url = server.route("/slow", dribble(interval=0.05))  # each byte well within the read timeout
    started = time.monotonic()

    with pytest.raises(DownloadTooSlow, match=r"did not finish within 0\.5 seconds"):
        fetcher_for(server, total_timeout=0.5, read_timeout=5.0).fetch(url)

    assert elapsed(started) < 1.5


def test_given_a_server_dribbling_its_headers_when_fetched_then_the_total_deadline_stops_it(
    server: FixtureServer,
) -> None:
    url = server.route("/slow-headers", dribble_headers(interval=0.05))
    started = time.monotonic()

    with pytest.raises(DownloadTooSlow, match=r"did not finish within 0\.5 seconds"):
        fetcher_for(server, total_timeout=0.5, read_timeout=5.0).fetch(url)

    assert elapsed(started) < 1.5


def test_given_a_server_that_goes_quiet_when_fetched_then_the_read_timeout_is_named(server: FixtureServer) -> None:
    url = server.route("/quiet", stall(5.0))
    started = time.monotonic()

    with pytest.raises(FetchFailed, match=r"sent nothing for 0\.2 seconds") as raised:
        fetcher_for(server, read_timeout=0.2, total_timeout=5.0).fetch(url)

    assert not isinstance(raised.value, DownloadTooSlow)  # a silent server is its fault, not our time limit
    assert elapsed(started) < 1.5


def test_given_redirect_hops_that_together_exceed_the_deadline_when_fetched_then_fetch_failed(
    server: FixtureServer,
) -> None:
    def slow_redirect(target: str):
        def route(handler) -> None:
            handler.server.fixture.stopping.wait(0.2)
            body(b"", status=302, content_type=None, headers=[("Location", target)])(handler)

        return route

    server.route("/1", slow_redirect("/2"))
    server.route("/2", slow_redirect("/3"))
    server.route("/3", slow_redirect("/4"))
    url = server.url("/1")

    with pytest.raises(DownloadTooSlow, match=r"did not finish within 0\.5 seconds"):
        fetcher_for(server, total_timeout=0.5).fetch(url)


def test_given_an_allow_listed_listener_that_never_answers_when_fetched_then_read_timeout_and_one_connection() -> None:
    # Also the positive control for RecordingListener: it does count connections that reach it.
    listener = RecordingListener()
    try:
        fetcher = SafeFetcher(FetchPolicy(allowed=(f"127.0.0.1:{listener.port}",), read_timeout=0.2))

        with pytest.raises(FetchFailed, match="sent nothing"):
            fetcher.fetch(f"http://127.0.0.1:{listener.port}/")

        assert listener.accepted() == 1
    finally:
        listener.close()


def test_given_nothing_listening_on_an_allow_listed_port_when_fetched_then_connection_refused() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    fetcher = SafeFetcher(FetchPolicy(allowed=(f"127.0.0.1:{port}",)))

    with pytest.raises(ConnectionRefused, match="'127.0.0.1' refused the connection"):
        fetcher.fetch(f"http://127.0.0.1:{port}/")


def test_given_a_server_whose_accept_queue_is_full_when_fetched_then_the_connect_timeout_is_named() -> None:
    # With a backlog of 0 and one connection already queued, Linux drops further SYNs: the connect hangs.
    with socket.socket() as listener, socket.socket() as queued:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued.connect(("127.0.0.1", port))
        probe = socket.socket()
        probe.settimeout(0.2)
        try:
            probe.connect(("127.0.0.1", port))
            pytest.skip("this kernel does not drop connections beyond the backlog")
        except TimeoutError:
            pass
        finally:
            probe.close()
        fetcher = SafeFetcher(FetchPolicy(allowed=(f"127.0.0.1:{port}",), connect_timeout=0.2))
        started = time.monotonic()

        with pytest.raises(FetchFailed, match=r"Connecting to '127.0.0.1' timed out after 0\.2 seconds"):
            fetcher.fetch(f"http://127.0.0.1:{port}/")

        assert elapsed(started) < 1.5


# --- TLS ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA and a certificate for the name "public.test" only (no IP address in it)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fetch test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "public.test")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("public.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    paths = {"ca": directory / "ca.pem", "cert": directory / "cert.pem", "key": directory / "key.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_server(certificates: dict[str, Path]) -> Iterator[tuple[FixtureServer, list[str | None]]]:
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    context.sni_callback = lambda ssl_socket, name, ctx: server_names.append(name)
    fixture = FixtureServer(tls=context)
    fixture.route("/cat.jpg", body(PHOTO))
    yield fixture, server_names
    fixture.close()


def test_given_https_to_a_name_when_fetched_then_sni_and_verification_use_the_name_not_the_address(
    tls_server: tuple[FixtureServer, list[str | None]], certificates: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, server_names = tls_server
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(certificates["ca"]))  # trust the test CA
    fetcher = fetcher_for(server, resolver_for({"public.test": "127.0.0.1"}))

    fetched = fetcher.fetch(server.url("/cat.jpg", scheme="https", host="public.test"))

    assert fetched.content == PHOTO
    assert server_names == ["public.test"]
    assert server.requests[0].headers["Host"] == f"public.test:{server.port}"


def test_given_https_to_the_bare_address_when_the_certificate_names_only_the_host_then_tls_fails(
    tls_server: tuple[FixtureServer, list[str | None]], certificates: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = tls_server
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(certificates["ca"]))

    with pytest.raises(FetchFailed, match="TLS connection to '127.0.0.1' failed"):
        fetcher_for(server).fetch(server.url("/cat.jpg", scheme="https"))


def test_given_https_with_a_certificate_from_an_untrusted_ca_when_fetched_then_fetch_failed(
    tls_server: tuple[FixtureServer, list[str | None]],
) -> None:
    server, server_names = tls_server
    fetcher = fetcher_for(server, resolver_for({"public.test": "127.0.0.1"}))

    with pytest.raises(FetchFailed, match="TLS connection to 'public.test' failed"):
        fetcher.fetch(server.url("/cat.jpg", scheme="https", host="public.test"))

    assert server_names == ["public.test"]
    assert server.requests == []


def test_given_an_https_server_dribbling_the_body_when_fetched_then_the_total_deadline_stops_it(
    tls_server: tuple[FixtureServer, list[str | None]], certificates: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = tls_server
    server.route("/slow", dribble(interval=0.05))
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(certificates["ca"]))
    fetcher = fetcher_for(server, resolver_for({"public.test": "127.0.0.1"}), total_timeout=0.5, read_timeout=5.0)
    started = time.monotonic()

    with pytest.raises(FetchFailed, match=r"did not finish within 0\.5 seconds"):
        fetcher.fetch(server.url("/slow", scheme="https", host="public.test"))

    assert elapsed(started) < 1.5
