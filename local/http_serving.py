"""Serving HTTP on a background thread: the one place in local/ that starts such a thread.

The gateway, the webhook inbox, the fixture server, the local Rekognition and its quota proxy, the
host proxy, the console and moto's server are all started and stopped through `BackgroundHttpServer`.
Standard library only: the Rekognition child process imports it too, and must start quickly.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# How long stop() waits for the serving thread to end after shutdown() has returned.
JOIN_SECONDS = 5.0


def listening_socket(host: str) -> socket.socket:
    """A TCP socket listening on a free port of `host`; connections wait in its backlog until a
    server is started on it. Choosing a port this way holds it from the moment it is chosen: a
    port only looked up would be free until the server bound it, and any connection's own port
    could take it meanwhile."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.bind((host, 0))
        listening.listen(128)
    except BaseException:
        listening.close()
        raise
    return listening


class NoDelayHTTPServer(ThreadingHTTPServer):
    """A thread per connection (daemon threads, so none holds the process open), sending at once.

    Given `listening` (a socket already bound and listening, such as one a parent process chose
    and handed down), it serves that socket instead of binding `address`."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        listening: socket.socket | None = None,
    ) -> None:
        super().__init__(address, handler, bind_and_activate=listening is None)
        if listening is not None:
            self.socket.close()
            self.socket = listening
            self.address_family = listening.family
            self.server_address = listening.getsockname()[:2]
            self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # Request handlers write the headers and the body separately. With Nagle's algorithm the body
        # waits for the client's delayed ACK of the headers: about 40 ms on every keep-alive response.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class BackgroundHttpServer:
    """Runs `server.serve_forever` on a daemon thread named `name` from `start()` until `stop()`.

    The server is bound already (constructing a socketserver binds it), so the port is known before
    start. `poll_interval` is how often the serving loop looks for a shutdown request: it bounds how
    long stop() takes, and an idle wake-up costs next to nothing.
    """

    def __init__(self, server: socketserver.BaseServer, name: str, *, poll_interval: float = 0.5):
        self.server = server
        self.name = name
        self.poll_interval = poll_interval
        self._thread: threading.Thread | None = None

    @classmethod
    def bind(
        cls, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], name: str, *, poll_interval: float = 0.5
    ) -> BackgroundHttpServer:
        """A NoDelayHTTPServer for `handler`, bound to `address` now, served once started."""
        return cls(NoDelayHTTPServer(address, handler), name, poll_interval=poll_interval)

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """`http://host:port` of the bound address, an IPv6 host in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already serving")
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(self.poll_interval,), name=self.name, daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release the port; a second call, or one before start, only closes."""
        thread, self._thread = self._thread, None
        if thread is not None:
            # shutdown() waits for the serving loop to notice; called when nothing serves, it would
            # wait for ever.
            self.server.shutdown()
        self.server.server_close()
        if thread is not None:
            thread.join(JOIN_SECONDS)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
