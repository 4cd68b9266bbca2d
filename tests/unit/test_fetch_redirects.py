"""Redirects, DNS rebinding, ambient credentials, and proof that refused targets are never connected to.

`listener` is a loopback port nobody allow-listed; each test that aims at it ends by asserting it
accepted no connection.
"""

import socket
from collections.abc import Callable, Iterator

import pytest
import requests

from lib.domain.errors import FetchFailed, UrlNotAllowed
from lib.fetching.addresses import AddressPolicy
from lib.fetching.fetch import FetchPolicy, SafeFetcher
from lib.fetching.guarded_http import ConnectGuard, FetchDeadline, GuardedAdapter
from tests.support.fetch_servers import FixtureServer, RecordingListener, body, redirect

IMAGE = b"\x89PNG\r\n\x1a\n pretend image bytes"
REDIRECT_STATUSES = [301, 302, 303, 307, 308]


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    fixture = FixtureServer()
    fixture.route("/image.png", body(IMAGE))
    yield fixture
    fixture.close()


@pytest.fixture
def listener() -> Iterator[RecordingListener]:
    recording = RecordingListener()
    yield recording
    recording.close()


def resolver_for(names: dict[str, list[str]], calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return names[host]

    return resolve


def fetcher_for(
    server: FixtureServer, resolver: Callable[[str, int], list[str]] | None = None, **policy: object
) -> SafeFetcher:
    resolver = resolver or resolver_for({"public.test": ["127.0.0.1"], "internal.test": ["127.0.0.1"]})
    return SafeFetcher(FetchPolicy(allowed=(server.allow_entry,), **policy), resolver=resolver)  # type: ignore[arg-type]


# --- following ------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", REDIRECT_STATUSES)
def test_given_a_redirect_to_an_allowed_target_when_fetched_then_it_is_followed(
    server: FixtureServer, status: int
) -> None:
    start = server.route("/start", redirect(status, "/image.png"))

    fetched = fetcher_for(server).fetch(start)

    assert fetched.content == IMAGE
    assert [request.path for request in server.requests] == ["/start", "/image.png"]


def test_given_relative_and_scheme_relative_locations_when_followed_then_each_resolves_against_the_current_url(
    server: FixtureServer,
) -> None:
    server.route("/a/start", redirect(302, "next"))  # -> /a/next
    server.route("/a/next", redirect(307, f"//public.test:{server.port}/b/"))  # -> http://public.test:port/b/
    server.route("/b/", redirect(308, "../image.png?v=2"))  # -> http://public.test:port/image.png?v=2

    fetched = fetcher_for(server, max_redirects=3).fetch(server.url("/a/start"))

    assert fetched.content == IMAGE
    assert server.requests[-1].headers["Host"] == f"public.test:{server.port}"
    assert [request.path for request in server.requests] == ["/a/start", "/a/next", "/b/", "/image.png?v=2"]


def test_given_a_chain_one_hop_past_the_limit_when_fetched_then_url_not_allowed(server: FixtureServer) -> None:
    for hop in range(4):
        server.route(f"/hop{hop}", redirect(302, f"/hop{hop + 1}"))
    server.route("/hop4", body(IMAGE))

    with pytest.raises(UrlNotAllowed, match="redirected more than 3 times"):
        fetcher_for(server).fetch(server.url("/hop0"))
    assert len(server.requests) == 4  # the fourth redirect was not followed


def test_given_a_chain_at_the_limit_when_fetched_then_it_succeeds(server: FixtureServer) -> None:
    for hop in range(3):
        server.route(f"/hop{hop}", redirect(301, f"/hop{hop + 1}"))
    server.route("/hop3", body(IMAGE))

    assert fetcher_for(server).fetch(server.url("/hop0")).content == IMAGE


def test_given_redirects_disabled_when_a_redirect_comes_then_url_not_allowed(server: FixtureServer) -> None:
    start = server.route("/start", redirect(302, "/image.png"))

    with pytest.raises(UrlNotAllowed, match="more than 0 times"):
        fetcher_for(server, max_redirects=0).fetch(start)


@pytest.mark.parametrize("routes", [{"/a": "/a"}, {"/a": "/b", "/b": "/a"}], ids=["self", "two-step"])
def test_given_a_redirect_loop_when_fetched_then_url_not_allowed(server: FixtureServer, routes: dict[str, str]) -> None:
    for path, target in routes.items():
        server.route(path, redirect(302, target))

    with pytest.raises(UrlNotAllowed, match="loop"):
        fetcher_for(server, max_redirects=10).fetch(server.url("/a"))


@pytest.mark.parametrize(
    ("status", "location"), [(300, "/image.png"), (304, "/image.png"), (305, "/image.png"), (302, None)]
)
def test_given_a_3xx_that_is_not_followed_when_fetched_then_fetch_failed_names_the_status(
    server: FixtureServer, status: int, location: str | None
) -> None:
    route = body(b"", status=status, content_type=None) if location is None else redirect(status, location)
    start = server.route("/start", route)

    with pytest.raises(FetchFailed, match=f"HTTP {status}"):
        fetcher_for(server).fetch(start)


# --- redirects to forbidden targets ---------------------------------------------------------------
FORBIDDEN_TARGETS = {
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "loopback-other-port": "http://127.0.0.1:{listener}/",
    "name-to-loopback": "http://internal.test:{listener}/",
    "mapped-ipv6": "http://[::ffff:127.0.0.1]:{listener}/",
    "decimal-host": "http://2130706433:{listener}/",
    "file": "file:///etc/passwd",
    "gopher": "gopher://127.0.0.1:{listener}/_stats",
    "userinfo": "http://user:pw@public.test:{listener}/",
}


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize("target", FORBIDDEN_TARGETS.values(), ids=FORBIDDEN_TARGETS.keys())
def test_given_a_redirect_to_a_forbidden_target_when_fetched_then_url_not_allowed_and_nothing_connects(
    server: FixtureServer, listener: RecordingListener, status: int, target: str
) -> None:
    start = server.route("/start", redirect(status, target.format(listener=listener.port)))

    with pytest.raises(UrlNotAllowed, match="redirected to"):
        fetcher_for(server).fetch(start)

    assert listener.accepted() == 0


# --- nothing reaches a refused target -------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "HTTP://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "http://internal.test:{port}/",
        "http://mixed.test:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::ffff:7f00:1]:{port}/",
        "http://2130706433:{port}/",
        "http://0x7f.1:{port}/",
        "http://0x7f000001:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://127.1:{port}/",
        "http://0:{port}/",
        "http://0.0.0.0:{port}/",
        "http://good@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}@public.test/",
    ],
)
def test_given_a_url_aimed_at_a_port_not_allow_listed_when_fetched_then_no_connection_reaches_it(
    server: FixtureServer, listener: RecordingListener, url: str
) -> None:
    resolver = resolver_for(
        {"internal.test": ["127.0.0.1"], "mixed.test": ["93.184.216.34", "127.0.0.1"], "localhost": ["127.0.0.1"]}
    )

    with pytest.raises(UrlNotAllowed):
        fetcher_for(server, resolver).fetch(url.format(port=listener.port))

    assert listener.accepted() == 0


def test_given_the_system_resolver_when_localhost_is_aimed_at_the_listener_then_no_connection_reaches_it(
    server: FixtureServer, listener: RecordingListener
) -> None:
    fetcher = SafeFetcher(FetchPolicy(allowed=(server.allow_entry,)))  # default resolver: getaddrinfo

    with pytest.raises(UrlNotAllowed):
        fetcher.fetch(f"http://localhost:{listener.port}/")

    assert listener.accepted() == 0


# --- DNS rebinding --------------------------------------------------------------------------------
def rebinding_resolver(first: str, then: str, calls: list[str]) -> Callable[[str, int], list[str]]:
    """Answers `first` to the first lookup and `then` to every later one, like a rebinding attacker's DNS."""

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return [first if len(calls) == 1 else then]

    return resolve


@pytest.mark.parametrize("private", ["10.0.0.1", "169.254.169.254", "::1", "::ffff:10.0.0.1"])
def test_given_a_name_that_rebinds_between_fetches_when_fetched_again_then_the_new_answer_is_refused(
    server: FixtureServer, private: str
) -> None:
    calls: list[str] = []
    allowed_only_on_server_port = fetcher_for(server, rebinding_resolver("127.0.0.1", private, calls))
    url = server.url("/image.png", host="rebind.test")

    assert allowed_only_on_server_port.fetch(url).content == IMAGE
    with pytest.raises(UrlNotAllowed, match="'rebind.test' resolves to"):
        allowed_only_on_server_port.fetch(url)
    assert calls == ["rebind.test", "rebind.test"]


def test_given_a_name_that_rebinds_within_one_fetch_when_a_new_connection_is_needed_then_it_is_refused(
    server: FixtureServer,
) -> None:
    calls: list[str] = []
    # The redirect closes its connection, so following it needs a new connection and a new lookup.
    start = server.route("/start", redirect(302, "/image.png", headers=[("Connection", "close")]))
    fetcher = fetcher_for(server, rebinding_resolver("127.0.0.1", "169.254.169.254", calls))

    with pytest.raises(UrlNotAllowed, match="link-local"):
        fetcher.fetch(start.replace("127.0.0.1", "rebind.test"))

    assert calls == ["rebind.test", "rebind.test"]


def test_given_a_keep_alive_redirect_on_the_same_host_when_followed_then_the_hop_gets_a_freshly_checked_connection(
    server: FixtureServer,
) -> None:
    calls: list[str] = []
    start = server.route("/start", redirect(302, "/image.png"))  # keep-alive: the server would reuse it
    fetcher = fetcher_for(server, rebinding_resolver("127.0.0.1", "169.254.169.254", calls))

    with pytest.raises(UrlNotAllowed, match="link-local"):
        fetcher.fetch(start.replace("127.0.0.1", "rebind.test"))

    assert calls == ["rebind.test", "rebind.test"]


def test_given_a_redirect_to_the_same_name_on_a_port_not_allow_listed_then_no_connection_reaches_it(
    server: FixtureServer, listener: RecordingListener
) -> None:
    calls: list[str] = []
    # The name's answer is allow-listed only on the server's port; the redirect keeps the name and
    # the answer but moves to the listener's port, so the new connection must be checked and refused.
    start = server.route("/start", redirect(302, f"http://same.test:{listener.port}/"))
    fetcher = fetcher_for(server, rebinding_resolver("127.0.0.1", "127.0.0.1", calls))

    with pytest.raises(UrlNotAllowed):
        fetcher.fetch(start.replace("127.0.0.1", "same.test"))

    assert calls == ["same.test", "same.test"]
    assert listener.accepted() == 0


# --- no ambient credentials -----------------------------------------------------------------------
def test_given_a_cookie_set_during_a_redirect_when_followed_then_it_is_not_sent_on(server: FixtureServer) -> None:
    start = server.route("/start", redirect(302, "/image.png", headers=[("Set-Cookie", "session=s3cr3t; Path=/")]))
    fetcher = fetcher_for(server)

    fetcher.fetch(start)
    fetcher.fetch(start)

    assert all("Cookie" not in request.headers for request in server.requests)


def test_given_proxy_variables_and_a_netrc_when_fetched_then_both_are_ignored(
    server: FixtureServer, listener: RecordingListener, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{listener.port}"
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(variable, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password s3cr3t\nmachine public.test login user password s3cr3t\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    fetched = fetcher_for(server).fetch(server.url("/image.png", host="public.test"))

    assert fetched.content == IMAGE
    assert listener.accepted() == 0
    assert "Authorization" not in server.requests[0].headers


@pytest.mark.parametrize("location", ["http://[::1/", "http://public.test:99999/", "https://", "http://exa mple.test/"])
def test_given_a_malformed_location_when_redirected_then_fetch_failed_blames_the_redirect(
    server: FixtureServer, location: str
) -> None:
    start = server.route("/start", redirect(302, location))

    with pytest.raises(FetchFailed, match="redirected to a URL that"):
        fetcher_for(server).fetch(start)


def test_given_a_proxy_when_the_guarded_adapter_is_asked_to_use_it_then_url_not_allowed(
    listener: RecordingListener,
) -> None:
    # A proxy connection would go to the proxy's address instead of the checked one.
    deadline = FetchDeadline(5.0)
    adapter = GuardedAdapter(ConnectGuard(AddressPolicy(), resolver_for({}), deadline, connect_timeout=1.0))
    prepared = requests.Request("GET", "http://public.test/image.png").prepare()
    try:
        with pytest.raises(UrlNotAllowed, match="proxy"):
            adapter.send(prepared, proxies={"http": f"http://127.0.0.1:{listener.port}"}, timeout=1.0)
    finally:
        adapter.close()
        deadline.close()

    assert listener.accepted() == 0
