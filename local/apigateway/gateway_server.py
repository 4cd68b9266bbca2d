"""The gateway's HTTP/1.1 side: connections, request bodies and responses on the wire.

Keep-alive connections are closed when the gateway stops; bodies are read from Content-Length or
chunked transfer encoding, never past the limit; an error sent before the body was read is
followed by a brief linger, so the client receives it rather than a reset.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from lib.deadline import Deadline
from local.apigateway.proxy_event import HttpResponse
from local.http_serving import NoDelayHTTPServer

logger = logging.getLogger("local.apigateway.gateway")

KEEP_ALIVE_IDLE_SECONDS = 60
LINGER_IDLE_SECONDS = 0.2
LINGER_MAX_SECONDS = 2.0
READ_CHUNK_BYTES = 64 * 1024


class GatewayError(Exception):
    """A response API Gateway itself produces, with its own JSON message body."""

    def __init__(self, status: int, message: str, *, close_connection: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.close_connection = close_connection

    def response(self) -> HttpResponse:
        body = json.dumps({"message": self.message}, separators=(",", ":")).encode("utf-8")
        return HttpResponse(self.status, [("Content-Type", "application/json")], body)


class GatewayHTTPServer(NoDelayHTTPServer):
    """Hands every request, whatever its method, to `on_request`; closes idle connections at shutdown."""

    def __init__(self, address: tuple[str, int], on_request: Callable[[GatewayRequestHandler], None]):
        self.on_request = on_request
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, GatewayRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def shutdown(self) -> None:
        super().shutdown()
        # Keep-alive connections would otherwise outlive the gateway and keep being served.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first


class GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE_IDLE_SECONDS
    server: GatewayHTTPServer

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def _serve(self) -> None:
        self.server.on_request(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, a made-up token) is routed too, so it gets the managed
        # service's JSON 404 rather than the standard library's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        logger.debug("%s %s", self.address_string(), format % args)

    # --- request bodies ----------------------------------------------------------------------------
    def read_body(self, max_bytes: int) -> bytes:
        transfer_encoding = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in transfer_encoding:
            return self._read_chunked(max_bytes)
        length = self._content_length()
        if length > max_bytes:
            # Refused from the header alone: the body is never read, so the connection must close.
            raise GatewayError(413, "Request Entity Too Large", close_connection=True)
        return self._read_exactly(length)

    def _content_length(self) -> int:
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        try:
            length = int(raw)
        except ValueError:
            raise GatewayError(400, "Bad Request", close_connection=True) from None
        if length < 0:
            raise GatewayError(400, "Bad Request", close_connection=True)
        return length

    def _read_chunked(self, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise GatewayError(400, "Bad Request", close_connection=True) from None
            if size == 0:
                break
            total += size
            if total > max_bytes:
                raise GatewayError(413, "Request Entity Too Large", close_connection=True)
            chunks.append(self._read_exactly(size))
            self.rfile.readline(1024)  # the CRLF closing each chunk
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers: nothing here needs them
        return b"".join(chunks)

    def _read_exactly(self, size: int) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            chunk = self.rfile.read(min(remaining, READ_CHUNK_BYTES))
            if not chunk:
                raise GatewayError(400, "Bad Request", close_connection=True)
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    # --- responses ---------------------------------------------------------------------------------
    def send(self, response: HttpResponse, request_id: str, *, head_only: bool) -> None:
        try:
            self.send_response_only(response.status)
            self.send_header("Date", self.date_time_string())
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("apigw-requestid", request_id)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head_only:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def linger(self) -> None:
        # Closing a socket that still has unread request bytes makes the kernel send a reset, which can
        # destroy the error response on its way out. Half-close, then drop whatever still arrives, briefly.
        connection = self.connection
        try:
            connection.shutdown(socket.SHUT_WR)
            connection.settimeout(LINGER_IDLE_SECONDS)
            give_up = Deadline(LINGER_MAX_SECONDS)
            while not give_up.expired and connection.recv(READ_CHUNK_BYTES):
                pass
        except OSError:
            pass  # the client is gone or went quiet: either way the connection is done
