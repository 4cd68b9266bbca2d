"""`python -m local console --api URL`: the web console on this machine, pointed at a deployed API.

`make console API=https://abc123.execute-api.us-east-1.amazonaws.com` runs it. The page is served
from http://localhost:8321/console/ (`--port` to change it), the origin the `consoleOrigin` stage
parameter allows by default on the HTTP API and the images bucket (CORS). The local-only panels
(webhook deliveries, dead-letter queues) stay hidden: a deployed API has no such routes.
"""

from __future__ import annotations

import argparse
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from local.console.files import SECURITY_HEADERS, page, read
from local.http_serving import BackgroundHttpServer

DEFAULT_PORT = 8321


def handler_for(api: str) -> type[BaseHTTPRequestHandler]:
    class ConsoleFiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/", "/console"):
                self._answer(302, "text/plain", b"", {"location": "/console/"})
            elif path == "/console/":
                self._answer(200, "text/html; charset=utf-8", page(api, ""))
            elif path.startswith("/console/") and (found := read(path.removeprefix("/console/"))):
                self._answer(200, found[0], found[1])
            else:
                self._answer(404, "text/plain", b"not found")

        def _answer(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"content-type": content_type, **SECURITY_HEADERS, **(extra or {})}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
            pass

    return ConsoleFiles


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local console", description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="the deployed API's URL (HttpApiUrl)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    api = args.api.rstrip("/")
    if urlsplit(api).scheme not in ("http", "https"):
        parser.error("--api must be an http(s) URL")
    served = BackgroundHttpServer.bind(("127.0.0.1", args.port), handler_for(api), "console")
    with served:
        print(f"console for {api} at http://localhost:{served.port}/console/ (Ctrl-C stops it)", flush=True)
        try:
            threading.Event().wait()  # served on its thread until Ctrl-C interrupts this wait
        except KeyboardInterrupt:
            pass
    return 0
