"""local/http_serving.py: the one way local/ serves HTTP on a background thread, on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from local.http_serving import BackgroundHttpServer, NoDelayHTTPServer, listening_socket
from tests.support.http_servers import JsonHandler


class Introspect(JsonHandler):
    """Answers with what the serving side sees: its thread and its socket's TCP_NODELAY."""

    def do_GET(self) -> None:
        nodelay = self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        current = threading.current_thread()
        self.reply(200, {"nodelay": bool(nodelay), "daemon": current.daemon})


@pytest.fixture
def served() -> Iterator[BackgroundHttpServer]:
    server = BackgroundHttpServer.bind(("127.0.0.1", 0), Introspect, "introspect", poll_interval=0.05)
    yield server
    server.stop()


def test_given_port_zero_when_started_then_the_url_names_the_bound_port(served: BackgroundHttpServer):
    url = served.start()

    assert served.port != 0
    assert url == f"http://127.0.0.1:{served.port}" == served.url
    assert requests.get(url, timeout=5).status_code == 200


def test_given_a_started_server_then_it_serves_from_a_named_daemon_thread(served: BackgroundHttpServer):
    served.start()

    threads = {thread.name: thread for thread in threading.enumerate()}

    assert threads["introspect"].daemon
    assert requests.get(served.url, timeout=5).json()["daemon"] is True  # each connection's thread too


def test_given_an_accepted_connection_then_nagle_is_off(served: BackgroundHttpServer):
    served.start()

    assert requests.get(served.url, timeout=5).json()["nodelay"] is True


def test_given_a_stopped_server_then_its_thread_ends_and_the_port_refuses(served: BackgroundHttpServer):
    served.start()
    thread = next(thread for thread in threading.enumerate() if thread.name == "introspect")

    served.stop()

    assert not thread.is_alive()
    assert not served.running
    with pytest.raises(requests.ConnectionError):
        requests.get(served.url, timeout=2)


def test_given_a_server_never_started_when_stopped_then_it_only_closes(served: BackgroundHttpServer):
    served.stop()
    served.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(served.url, timeout=2)


def test_given_a_running_server_when_started_again_then_it_refuses(served: BackgroundHttpServer):
    served.start()

    with pytest.raises(RuntimeError, match="already serving"):
        served.start()


class IPv6Server(NoDelayHTTPServer):
    address_family = socket.AF_INET6


def test_given_an_ipv6_address_then_the_url_brackets_the_host():
    try:
        server = IPv6Server(("::1", 0), Introspect)
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    with BackgroundHttpServer(server, "introspect-v6") as served:
        assert served.url == f"http://[::1]:{served.port}"
        assert requests.get(served.url, timeout=5).json()["nodelay"] is True


def test_given_a_listening_socket_then_the_server_serves_it_and_a_request_sent_before_the_start_is_answered():
    listening = listening_socket("127.0.0.1")
    port = listening.getsockname()[1]
    # GIVEN the port is held from the moment it was chosen: nobody else can bind it
    with socket.socket() as other, pytest.raises(OSError):
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
    # WHEN a client calls before any server runs on it, and the server then adopts the socket
    answers: list[int] = []
    caller = threading.Thread(
        target=lambda: answers.append(requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code)
    )
    caller.start()
    served = BackgroundHttpServer(NoDelayHTTPServer(("127.0.0.1", 0), Introspect, listening), "adopted")
    try:
        # THEN it serves that very port, and the early request waited in the backlog and was answered
        assert served.start() == f"http://127.0.0.1:{port}"
        caller.join(timeout=10)
        assert answers == [200]
    finally:
        served.stop()
    with socket.socket() as again:  # stopping lets the port go
        again.bind(("127.0.0.1", port))
