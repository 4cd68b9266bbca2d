"""Run the local Rekognition in a background thread of the current process."""

from __future__ import annotations

import socket
from collections.abc import Callable

from local.http_serving import BackgroundHttpServer

from .models import ModelSet, shared_models
from .quota import QuotaLedger
from .server import RekognitionHTTPServer


class RekognitionService:
    """`start()` binds, serves in a background thread and begins warming the models; requests
    that arrive before warm-up finishes wait for it. Models are shared by every instance in the
    process, so a second instance (say, one with fail_rate=1.0 for fault tests) costs nothing."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        fail_rate: float = 0.0,
        models: ModelSet | None = None,
        tps: float = 0.0,
        listening: socket.socket | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate}")
        self.host = host
        self.requested_port = port
        # A socket already listening, served instead of binding host and port (cli.py's --fd).
        self._listening = listening
        self._fail_rate = fail_rate
        self.models = models or shared_models()
        # Rekognition's per-operation TPS quota; 0 leaves it off.
        self.quota = QuotaLedger(tps)
        self._server: RekognitionHTTPServer | None = None
        self._served: BackgroundHttpServer | None = None

    @property
    def fail_rate(self) -> float:
        return self._fail_rate

    @fail_rate.setter
    def fail_rate(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {value}")
        self._fail_rate = value
        if self._server is not None:
            self._server.fail_rate = value

    @property
    def port(self) -> int:
        if self._served is None:
            raise RuntimeError("the service is not started")
        return self._served.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Start serving; returns the base URL (e.g. http://127.0.0.1:40123)."""
        if self._server is not None:
            return self.url
        self._server = RekognitionHTTPServer(
            (self.host, self.requested_port), self.models, self._fail_rate, self.quota, self._listening
        )
        self._served = BackgroundHttpServer(self._server, "rekognition-http", poll_interval=0.2)
        self._served.start()
        self.models.start_warm_up()
        return self.url

    def on_models_ready(self, callback: Callable[[ModelSet], None]) -> None:
        """Call `callback(models)` once warm-up is over (at once if it already is)."""
        self.models.start_warm_up(on_ready=callback)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self.models.wait_ready(timeout)

    def stop(self) -> None:
        served, self._served, self._server = self._served, None, None
        if served is not None:
            served.stop()

    def __enter__(self) -> RekognitionService:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
