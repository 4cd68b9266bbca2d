"""The embedded AWS emulator: moto's server, in this process, on a free loopback port."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from local.aws.credentials import FAKE_CREDENTIALS
from local.aws.moto_s3_events import add_version_ids
from local.http_serving import BackgroundHttpServer, listening_socket


class MotoEmulator:
    name = "moto"
    # moto's default account, which its ARNs carry.
    account_id = "123456789012"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        wrap: Callable[[Any], Any] | None = None,
        post_secret: Callable[[str], str | None] | None = None,
    ):
        self.host = host
        # A WSGI middleware put around moto's app: the local IAM layer (local/aws/iam/guard.py).
        self.wrap = wrap
        # The secret key of an access key other than the stack's own, for presigned POSTs signed by a
        # function's role (the IAM layer knows them); None means only the stack's own key signs.
        self.post_secret = post_secret
        # The port is fixed before the server starts, so the stack can name the endpoint early. A
        # free port is bound and listened on at once, and the server takes over that socket: a port
        # only looked up would be free until the start, which any connection's own port could take.
        self._listening: socket.socket | None = None
        if not port:
            self._listening = listening_socket(host)
            port = self._listening.getsockname()[1]
        self.port = port
        self._server: BackgroundHttpServer | None = None
        self.endpoint = ""

    @property
    def planned_endpoint(self) -> str:
        """Where the server will listen once started."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        # moto is imported in _moto_server: it takes about half a second, and only `up` needs it.
        _list_moto_modules_once()
        add_version_ids()  # S3's events carry the object's version, which moto's leave out
        # werkzeug logs every request at INFO; the stack's own logs are what matter.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        listening, self._listening = self._listening, None
        try:
            server = _moto_server(self.host, self.port, self.wrap, self.post_secret, listening)
        finally:
            if listening is not None:
                listening.close()  # the server has its own copy of the socket
        self._server = BackgroundHttpServer(server, "moto")
        self.endpoint = self._server.start()
        return self.endpoint

    def stop(self) -> None:
        if self._listening is not None:  # never started
            self._listening.close()
            self._listening = None
        if self._server is not None:
            self._server.stop()
            self._server = None
            # moto keeps its resources in this process, not in the server: without this, the next
            # emulator started here would find this one's tables and queues.
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()


def _moto_server(
    host: str,
    port: int,
    wrap: Callable[[Any], Any] | None,
    post_secret: Callable[[str], str | None] | None,
    listening: socket.socket | None = None,
) -> Any:
    """moto's threaded WSGI server, bound, with S3's POST-policy and CORS checks in front
    (local/aws/s3_post_gate.py), one request at a time (local/aws/moto_dispatch.py), and `wrap`
    around it all; what moto's ThreadedMotoServer builds."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from local.aws.moto_dispatch import SerializedApp
    from local.aws.s3_post_gate import S3PostGate

    # One request at a time reaches moto's backends (and the gate's reads of them): they are not thread-safe.
    app = SerializedApp(
        S3PostGate(
            DomainDispatcherApplication(create_backend_app),
            secrets=_PostSecrets(post_secret),
            cors_rules=moto_cors_rules,
        )
    )
    if wrap is not None:
        app = wrap(app)
    fd = listening.fileno() if listening is not None else None
    return make_server(host, port, app, True, request_handler=MotoRequestHandler, fd=fd)


class _PostSecrets(Mapping[str, str]):
    """The stack's own key, and any key `lookup` knows at the time of the request."""

    def __init__(self, lookup: Callable[[str], str | None] | None):
        self.lookup = lookup

    def __getitem__(self, access_key: str) -> str:
        if access_key == FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]:
            return FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        secret = self.lookup(access_key) if self.lookup else None
        if secret is None:
            raise KeyError(access_key)
        return secret

    def __iter__(self) -> Iterator[str]:
        return iter((FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],))

    def __len__(self) -> int:
        return 1


def moto_cors_rules(bucket: str) -> list | None:
    """The CORS rules moto stores for a bucket of this process's emulator, or None."""
    from moto.s3.models import s3_backends

    for account in list(s3_backends):
        try:
            return s3_backends[account]["aws"].get_bucket(bucket).cors
        except Exception:  # moto raises its own MissingBucket; any other account may hold it
            continue
    return None


def _list_moto_modules_once() -> None:
    """moto's server lists its own package directory (a directory scan of ~150 entries) on every
    request to route it; the list never changes while it runs, so it is computed once. This took
    about an eighth of the stack's CPU time under load."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
