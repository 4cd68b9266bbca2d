"""Rekognition's quota in front of another Rekognition endpoint, such as moto's.

`REKOGNITION=moto` answers from moto's canned response, which costs almost nothing; with the quota
in front, the quota and not this machine's CPU is what limits a burst. Calls within the quota are
forwarded unchanged (moto checks no signature) and their answers relayed; calls over it are refused
here, exactly as the local service refuses them.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from local.http_serving import BackgroundHttpServer

from .errors import RekognitionError, internal_error
from .quota import QuotaLedger
from .server import MAX_BODY_BYTES, TARGET_PREFIX, RekognitionHTTPServer, RekognitionRequestHandler

FORWARDED_HEADERS = ("Content-Type", "X-Amz-Target", "X-Amz-Date", "X-Amz-Security-Token", "Authorization")


class _ProxyHandler(RekognitionRequestHandler):
    server: _ProxyServer

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            self._send_error(RekognitionError("SerializationException", "Content-Length is missing or too large"))
            return
        body = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target
        try:
            self.server.quota.admit(operation)
            started = time.monotonic()
            status, content_type, answer = self.server.forward(body, self.headers)
        except RekognitionError as error:
            self._send_error(error)
            return
        except OSError as error:
            self._send_error(internal_error(f"the upstream Rekognition is unreachable: {error}"))
            return
        if status == 200:
            self.server.quota.succeeded(operation, time.monotonic() - started)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class _ProxyServer(RekognitionHTTPServer):
    def __init__(
        self, address: tuple[str, int], upstream: str, quota: QuotaLedger, listening: socket.socket | None = None
    ):
        super().__init__(address, models=_NoModels(), quota=quota, listening=listening)  # type: ignore[arg-type]
        self.RequestHandlerClass = _ProxyHandler
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._local = threading.local()

    def forward(self, body: bytes, headers) -> tuple[int, str, bytes]:
        # One keep-alive connection per serving thread.
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        forwarded = {name: headers[name] for name in FORWARDED_HEADERS if headers.get(name)}
        try:
            connection.request("POST", "/", body=body, headers=forwarded)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException):
            connection.close()
            self._local.connection = None
            raise OSError("connection to the upstream failed") from None
        return response.status, response.getheader("Content-Type", "application/x-amz-json-1.1"), response.read()


class _NoModels:
    """A proxy analyzes nothing: it is ready at once."""

    ready = True
    errors: dict[str, str] = {}
    prepare_seconds = 0.0


class QuotaProxy:
    """Serves like RekognitionService (start, stop, url), forwarding within the quota."""

    def __init__(
        self, upstream: str, tps: float, host: str = "127.0.0.1", port: int = 0, listening: socket.socket | None = None
    ):
        self.upstream = upstream
        self.host = host
        self.quota = QuotaLedger(tps)
        self._served = BackgroundHttpServer(
            _ProxyServer((host, port), upstream, self.quota, listening), "rekognition-quota", poll_interval=0.2
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._served.port}"

    def start(self) -> str:
        self._served.start()
        return self.url

    def on_models_ready(self, callback: Callable) -> None:
        callback(_NoModels())

    def stop(self) -> None:
        self._served.stop()
