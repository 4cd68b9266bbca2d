"""requests/urllib3 plumbing that checks every address at connect time and connects to exactly that address.

urllib3 normally resolves the host inside ``HTTPConnection._new_conn`` and connects to whatever DNS
answers. Checking the URL's host *before* the request and letting urllib3 resolve it again would
leave a window for DNS rebinding (first answer public, second private). Here ``_new_conn`` is replaced:
the host is resolved once through an injectable resolver, every answer is checked against the
address policy, and the socket is connected to one of those checked addresses. The connection object
keeps the original host name, so the Host header, TLS SNI and certificate verification still use it.

A ``FetchDeadline`` (lib/deadline.py's ``Deadline`` plus a watchdog) also watches each socket opened for one fetch and
shuts them all down when the fetch's wall-clock budget runs out: per-operation socket timeouts alone
cannot stop a server that dribbles one byte just before each read timeout, in the body or in the headers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import PoolManager

from lib import deadline as monotonic
from lib.domain.errors import DownloadTooSlow, HostNotFound, UrlNotAllowed
from lib.fetching.addresses import AddressPolicy, IPAddress

Resolver = Callable[[str, int], list[str]]

# WHATWG URL parsing treats a host whose last label is a number (decimal, octal, hex) as IPv4, and
# inet_aton accepts forms like 2130706433, 0177.0.0.1, 0x7f.1 and 127.1. Parsers disagree on these,
# so anything numeric that is not a canonical dotted quad is refused instead of interpreted.
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)")


def system_resolver(host: str, port: int) -> list[str]:
    """The default resolver: every TCP address getaddrinfo gives for host:port, in its order."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for _family, _type, _proto, _name, sockaddr in answers))


def is_noncanonical_numeric_host(host: str) -> bool:
    """True for numeric hosts that are not a plain IPv4 address: "2130706433", "0x7f.1", "127.1", "0177.0.0.1"."""
    labels = host.split(".")
    if labels and labels[-1] == "" and len(labels) > 1:
        labels = labels[:-1]
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return False
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return True
    return False


def literal_address(host: str) -> IPAddress | None:
    """The IP address if `host` is an IP literal ("1.2.3.4", "::1" or "[::1]"), else None."""
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def describe_seconds(seconds: float) -> str:
    return f"{seconds:g} second" + ("" if seconds == 1 else "s")


class FetchDeadline(monotonic.Deadline):
    """A wall-clock budget for one fetch that, once spent, shuts down every socket the fetch opened.

    It watches a duplicate of each socket's descriptor: TLS wrapping detaches the original socket
    object, but shutdown() acts on the connection itself, so shutting down the duplicate still wakes
    a read blocked on the TLS socket. Owning the duplicate also means we never touch a descriptor
    number that was closed and reused elsewhere. Call close() when the fetch is over.
    """

    def __init__(self, seconds: float):
        super().__init__(seconds)
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._fired or super().expired

    def watch(self, sock: socket.socket) -> None:
        duplicate = sock.dup()
        with self._lock:
            self._watched.append(duplicate)
            if self._fired:
                _shutdown(duplicate)

    def close(self) -> None:
        """Stop the timer and release the duplicates; the connections themselves are closed by their owners."""
        self._timer.cancel()
        with self._lock:
            for duplicate in self._watched:
                duplicate.close()
            self._watched.clear()

    def timeout_error(self) -> DownloadTooSlow:
        return DownloadTooSlow(f"The download did not finish within {describe_seconds(self.seconds)}.")

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            # shutdown, not close: it wakes a recv blocked in the fetching thread, which then fails cleanly.
            for duplicate in self._watched:
                _shutdown(duplicate)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by the peer or by us: nothing left to stop
        pass


class ConnectGuard:
    """Resolves a host once, refuses it unless every answer passes the policy, connects to a checked answer."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver,
        deadline: FetchDeadline,
        connect_timeout: float,
    ):
        self._policy = policy
        self._resolver = resolver
        self._deadline = deadline
        self._connect_timeout = connect_timeout

    def open_socket(self, host: str, port: int, socket_options: Any, source_address: Any) -> socket.socket:
        addresses = self.checked_addresses(host, port)
        if self._deadline.expired:
            raise self._deadline.timeout_error()
        last_error: OSError | None = None
        for address in addresses:
            try:
                return self._connect(address, port, socket_options, source_address)
            except OSError as error:  # try the next checked address, as create_connection would
                last_error = error
        assert last_error is not None  # checked_addresses never returns an empty list
        raise last_error

    def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses for host:port, after refusing the host if any of them is not allowed."""
        name = host.rstrip(".") or host
        literal = literal_address(name)
        if literal is None and is_noncanonical_numeric_host(name):
            raise UrlNotAllowed(
                f"The host {host!r} is a numeric address in a non-standard form; write it as a dotted IPv4 address."
            )
        addresses = [literal] if literal is not None else self._resolve(host, port)
        for address in addresses:
            reason = self._policy.refusal(address, port)
            if reason is not None:
                where = "is" if literal is not None else "resolves to"
                raise UrlNotAllowed(f"The host {name!r} {where} {reason}; only public addresses can be fetched.")
        return addresses

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            answers = self._resolver(host, port)
        except (OSError, UnicodeError):
            answers = []
        if not answers:
            raise HostNotFound(f"The host {host.rstrip('.')!r} could not be resolved.")
        addresses: list[IPAddress] = []
        for answer in answers:
            address = literal_address(answer)
            if address is None:
                raise UrlNotAllowed(f"The host {host.rstrip('.')!r} resolves to something that is not an IP address.")
            addresses.append(address)
        return addresses

    def _connect(self, address: IPAddress, port: int, socket_options: Any, source_address: Any) -> socket.socket:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            timeout = min(self._connect_timeout, self._deadline.remaining())
            sock.settimeout(max(timeout, 0.001))  # a timeout of 0 would make the socket non-blocking
            if source_address:
                sock.bind(source_address)
            sock.connect((str(address), port))
            self._deadline.watch(sock)
        except BaseException:
            sock.close()
            raise
        return sock


class _GuardedConnectionMixin:
    """Replaces urllib3's resolve-and-connect with ConnectGuard.open_socket."""

    connect_guard: ConnectGuard | None = None

    def _new_conn(self) -> socket.socket:
        connection: Any = self  # the urllib3 connection this mixin is combined with
        guard = self.connect_guard
        if guard is None:
            raise RuntimeError("guarded connection used without a ConnectGuard")
        try:
            sock = guard.open_socket(
                connection._dns_host,
                connection.port,
                connection.socket_options,
                connection.source_address,
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(connection, f"Connection to {connection.host} timed out.") from error
        except OSError as error:
            raise NewConnectionError(connection, f"Failed to establish a new connection: {error}") from error
        sys.audit("http.client.connect", connection, connection.host, connection.port)
        return sock


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedPoolMixin:
    connect_guard: ConnectGuard | None = None

    def _new_conn(self) -> Any:
        connection = super()._new_conn()  # type: ignore[misc]
        connection.connect_guard = self.connect_guard
        return connection


class GuardedHTTPConnectionPool(_GuardedPoolMixin, HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(_GuardedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedPoolManager(PoolManager):
    def __init__(self, connect_guard: ConnectGuard, **kwargs: Any):
        super().__init__(**kwargs)
        self.connect_guard = connect_guard
        self.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        if scheme not in self.pool_classes_by_scheme:
            raise UrlNotAllowed("Only http and https URLs can be fetched.")
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.connect_guard = self.connect_guard  # type: ignore[attr-defined]
        return pool


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose every connection goes through a ConnectGuard. Proxies are refused outright."""

    def __init__(self, connect_guard: ConnectGuard):
        self._connect_guard = connect_guard
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = GuardedPoolManager(
            self._connect_guard,
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            **pool_kwargs,
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # A proxy would connect to the proxy's address, not the checked one.
        raise UrlNotAllowed("Fetching through a proxy is not supported.")
