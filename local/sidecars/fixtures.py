"""A static file server for test images, so URL ingest can be tried without the internet.

It is the only private address the local stack's fetcher is allowed to reach.
"""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

from local.http_serving import BackgroundHttpServer


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class FixtureServer:
    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._served = BackgroundHttpServer.bind((host, port), handler, "fixtures")

    @property
    def address(self) -> str:
        return f"{self._served.host}:{self._served.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/"

    def start(self) -> str:
        self._served.start()
        return self.url

    def stop(self) -> None:
        self._served.stop()
