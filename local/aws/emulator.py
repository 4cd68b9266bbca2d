"""The embedded AWS emulator: moto's server, in this process, on a free loopback port."""

from __future__ import annotations

import logging
import socket

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoEmulator:
    name = "moto"
    # moto's default account, which its ARNs carry.
    account_id = "123456789012"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        # The port is fixed before the server starts, so the stack can name the endpoint early.
        self.port = port or _free_port(host)
        self._server = None
        self.endpoint = ""

    @property
    def planned_endpoint(self) -> str:
        """Where the server will listen once started."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        # Imported here: moto takes about half a second to import, and only `up` needs it.
        from moto.server import ThreadedMotoServer

        _list_moto_modules_once()
        # werkzeug logs every request at INFO; the stack's own logs are what matter.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _list_moto_modules_once() -> None:
    """moto's server lists its own package directory (a directory scan of ~150 entries) on every
    request to route it; the list never changes while it runs, so it is computed once. This took
    about an eighth of the stack's CPU time under load."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
