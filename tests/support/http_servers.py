"""Small HTTP servers that tests start on loopback to play a dependency: a fake API, a fake Rekognition."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.http_serving import BackgroundHttpServer


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler with a one-call JSON reply, and quiet."""

    protocol_version = "HTTP/1.1"

    def reply(self, code: int, body: Any, content_type: str = "application/json") -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


class BackgroundServer:
    """Serves `handler` on a free loopback port from a daemon thread until `stop()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self._served = BackgroundHttpServer.bind(("127.0.0.1", 0), handler, handler.__name__)
        self.url = self._served.start()

    def stop(self) -> None:
        self._served.stop()
