"""A reverse proxy that puts an emulator's HTTP API at the root of a port of its own.

ministack serves each HTTP API under the host name `<apiId>.execute-api.localhost`; clients that
know only a URL (curl, the e2e suite, a browser) cannot send that. The proxy forwards every
request to the emulator with that Host header and passes the answer back unchanged. It also
applies API Gateway's 10 MB body limit, which ministack does not: a larger body is a 413 before
any of it is read, as from API Gateway.
"""

from __future__ import annotations

import http.client
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.apigateway.gateway import MAX_PAYLOAD_BYTES
from local.http_serving import BackgroundHttpServer

# Hop-by-hop headers are the proxy's own business, not the emulator's (RFC 9110, section 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class HostProxy:
    def __init__(self, target: str, host: str, port: int = 0):
        self.target = urllib.parse.urlsplit(target)
        self.host = host
        self._served = BackgroundHttpServer.bind(("127.0.0.1", port), _handler(self), "api-proxy")

    @property
    def url(self) -> str:
        return self._served.url

    def start(self) -> str:
        return self._served.start()

    def stop(self) -> None:
        self._served.stop()


def _handler(proxy: HostProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PAYLOAD_BYTES:
                self.close_connection = True  # the unread body makes the connection unusable
                self._answer(413, "Request Entity Too Large", [], b'{"message":"Request Entity Too Large"}')
                return
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
            headers["Host"] = proxy.host
            connection = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=60)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            except OSError as error:
                self.send_error(502, f"the emulator did not answer: {error}")
                return
            finally:
                connection.close()
            self._answer(answer.status, answer.reason, answer.getheaders(), payload)

        def _answer(self, status: int, reason: str, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status, reason)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            if not headers:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

    return Handler
