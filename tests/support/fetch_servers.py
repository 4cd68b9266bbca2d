"""Loopback servers for the fetcher's tests: a scriptable HTTP server and a listener that only counts connections.

Everything binds to 127.0.0.1 (or ::1) on a free port; nothing leaves the machine.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local.http_serving import BackgroundHttpServer

Route = Callable[["Handler"], None]


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    client: tuple


@dataclass
class Counter:
    """Bytes a streaming route managed to send before the client went away."""

    sent: int = 0
    finished: threading.Event = field(default_factory=threading.Event)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        fixture = self.server.fixture
        fixture.requests.append(RecordedRequest(self.path, dict(self.headers.items()), self.client_address))
        route = fixture.routes.get(self.path.split("?", 1)[0])
        try:
            if route is None:
                send_body(self, b"no such route", status=404, content_type="text/plain")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client gave up, which is usually what the test provoked

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fixture: FixtureServer, family: socket.AddressFamily):
        self.address_family = family
        self.fixture = fixture
        super().__init__((fixture.host, 0), Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # failed handshakes and aborted clients are expected in these tests


class FixtureServer:
    """A threaded HTTP/1.1 server whose paths are answered by plain functions (see the route builders below)."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = _Server(self, family)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._serving = BackgroundHttpServer(self._server, "fetch-fixtures", poll_interval=0.01)
        self._serving.start()

    @property
    def authority(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def allow_entry(self) -> str:
        return self.authority

    def url(self, path: str = "/", scheme: str = "http", host: str | None = None) -> str:
        authority = self.authority if host is None else f"{host}:{self.port}"
        return f"{scheme}://{authority}{path}"

    def route(self, path: str, handler: Route) -> str:
        self.routes[path] = handler
        return self.url(path)

    def close(self) -> None:
        self.stopping.set()
        self._serving.stop()


class RecordingListener:
    """A TCP listener nobody allow-listed. It never answers; `accepted()` says how many connections reached it.

    A connection whose handshake completed waits in the kernel's accept queue even if the client has
    already closed it, so draining the queue at the end of a test counts every connection ever made.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.bind((host, port))
        self._socket.listen(64)
        self._socket.setblocking(False)
        self.port: int = self._socket.getsockname()[1]
        self._accepted = 0

    def accepted(self) -> int:
        while True:
            try:
                connection, _peer = self._socket.accept()
            except BlockingIOError:
                return self._accepted
            connection.close()
            self._accepted += 1

    def close(self) -> None:
        self._socket.close()


# --- route builders -------------------------------------------------------------------------------
def send_body(
    handler: Handler,
    body: bytes,
    *,
    status: int = 200,
    content_type: str | None = "image/png",
    declared_length: int | None = -1,
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """Answer with `body`. declared_length: -1 = the true length, None = no Content-Length (close delimits)."""
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    if declared_length is None:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    else:
        handler.send_header("Content-Length", str(len(body) if declared_length == -1 else declared_length))
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


def body(content: bytes, **options: object) -> Route:
    return lambda handler: send_body(handler, content, **options)  # type: ignore[arg-type]


def redirect(status: int, location: str, *, headers: Iterable[tuple[str, str]] = ()) -> Route:
    return body(b"", status=status, content_type=None, headers=[("Location", location), *headers])


def endless(counter: Counter, chunk: bytes = b"\x00" * 65536, limit: int = 200 * 1024 * 1024) -> Route:
    """Stream chunks with no Content-Length until the client hangs up (or `limit` bytes, as a safety net)."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        try:
            while counter.sent < limit and not handler.server.fixture.stopping.is_set():
                handler.wfile.write(chunk)
                counter.sent += len(chunk)
        finally:
            counter.finished.set()

    return route


def chunked(pieces: Iterable[bytes]) -> Route:
    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for piece in pieces:
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    return route


def dribble(interval: float, declared_length: int = 1000) -> Route:
    """Declare a body, then send it one byte per `interval`: every read succeeds well within any read timeout."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Length", str(declared_length))
        handler.end_headers()
        for _ in range(declared_length):
            if handler.server.fixture.stopping.wait(interval):
                return
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return route


def dribble_headers(interval: float) -> Route:
    """Send the status line, then header bytes one at a time, never finishing the header block."""

    def route(handler: Handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(10_000):
            if handler.server.fixture.stopping.wait(interval):
                return
            handler.wfile.write(b"X")
            handler.wfile.flush()

    return route


def stall(seconds: float, declared_length: int = 100) -> Route:
    """Send headers, then nothing for `seconds`."""

    def route(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(declared_length))
        handler.end_headers()
        handler.wfile.flush()
        handler.server.fixture.stopping.wait(seconds)

    return route


def elapsed(started: float) -> float:
    return time.monotonic() - started
