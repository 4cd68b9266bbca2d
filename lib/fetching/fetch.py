"""Fetch an image a user pointed us to by URL, without letting the URL reach anything but the public internet.

Decisions (each one is tested):

* Schemes: http and https only, in any letter case. Anything else, or no scheme -> ``UrlNotAllowed``.
  A URL that cannot be parsed or has no host -> ``InvalidRequest``.
* Userinfo: URLs with credentials (``http://user@host/``) are refused with ``UrlNotAllowed``. Parsers
  disagree about where userinfo ends (``http://good@evil/``, ``http://a\\@b/``), and credentials have no
  business in a URL we fetch and might echo.
* Numeric hosts: only canonical dotted-quad IPv4 and bracketed IPv6 literals are accepted. Forms that
  ``inet_aton`` or browsers would interpret (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``0``)
  are refused with ``UrlNotAllowed`` instead of interpreted.
* Addresses: checked at connect time, on the very address the socket connects to (see
  ``lib.fetching.guarded_http``). If ANY address a name resolves to is not allowed, the whole host is refused
  (``UrlNotAllowed``): a name that mixes public and private answers is not one we want to talk to, and
  the error is then the same whatever order DNS answers in. The policy itself is in ``lib.fetching.addresses``.
  Note for local setups: ``localhost`` usually resolves to ::1 as well as 127.0.0.1, so allow-list and
  use ``http://127.0.0.1:<port>/`` rather than ``localhost``.
* Redirects: followed by hand, only for 301/302/303/307/308 with a Location, at most
  ``max_redirects``. Each target is re-checked exactly like the first URL; a redirect to a refused
  target is ``UrlNotAllowed``, and so are a loop and a chain past the limit: the URL cannot be fetched
  under the policy, whichever server it names, so the caller gets a 400 rather than a 502. A malformed
  Location is ``FetchFailed``: that server is broken.
  A redirect's body is never read and its connection is dropped, so every hop connects afresh and
  its address is checked again, even on the same host.
* No ambient credentials: requests' transport adapter is used without a ``Session``, so nothing is
  taken from the environment (proxy variables, .netrc), no cookie jar exists, and no Authorization
  header is ever sent. Proxies are refused by the adapter itself.
* Size: a declared Content-Length over ``max_bytes`` is refused before the body is read; the body is
  streamed and abandoned as soon as it passes ``max_bytes`` (``PayloadTooLarge``). The body is taken as
  sent (``Accept-Encoding: identity``); a compressed body is refused rather than inflated.
* Time: ``connect_timeout`` per connection attempt, ``read_timeout`` per socket read, and a wall-clock
  ``total_timeout`` for the whole fetch (redirects, headers and body), enforced by shutting the sockets
  down when it expires. Each -> ``FetchFailed`` naming the limit; the total as ``DownloadTooSlow``, its
  subclass, since a server that keeps sending too slowly meets a limit of ours, as a large body does.
  DNS resolution itself cannot be interrupted; its time counts against the total and is checked once
  it returns.
* A final status outside 2xx, a refused or reset connection, a TLS failure -> ``FetchFailed``.

Error messages name the host when useful but never repeat the full URL: query strings carry tokens.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import requests
import urllib3.exceptions
from urllib3.util import Url, parse_url

from lib.domain.errors import (
    ConnectionRefused,
    DomainError,
    FetchFailed,
    InvalidRequest,
    PayloadTooLarge,
    RemoteClientError,
    RemoteServerError,
    UrlNotAllowed,
)
from lib.fetching.addresses import AddressPolicy
from lib.fetching.guarded_http import (
    ConnectGuard,
    FetchDeadline,
    GuardedAdapter,
    describe_seconds,
    is_noncanonical_numeric_host,
    literal_address,
    system_resolver,
)
from lib.ports import FetchedImage

_CHUNK_BYTES = 64 * 1024
_MAX_URL_LENGTH = 8192
_FOLLOWED_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_IDENTITY_ENCODINGS = frozenset({"", "identity"})


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 15 * 1024 * 1024
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    total_timeout: float = 15.0  # wall-clock deadline for the whole fetch incl. redirects and body
    max_redirects: int = 3
    # Addresses that may be fetched although they are not public: "127.0.0.1:8123", "10.0.0.0/8", "[::1]:8080".
    allowed: tuple[str, ...] = ()
    user_agent: str = "image-recognition-fetcher/1"

    def __post_init__(self) -> None:
        for name in ("max_bytes", "connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchPolicy.{name} must be positive, got {getattr(self, name)!r}")
        if self.max_redirects < 0:
            raise ValueError(f"FetchPolicy.max_redirects must not be negative, got {self.max_redirects!r}")
        AddressPolicy(self.allowed)  # raises ValueError on a malformed entry, at construction


class SafeFetcher:
    def __init__(
        self,
        policy: FetchPolicy,
        resolver: Callable[[str, int], list[str]] | None = None,
    ):
        self._policy = policy
        self._addresses = AddressPolicy(policy.allowed)
        self._resolver = resolver or system_resolver

    def fetch(self, url: str) -> FetchedImage:
        """Download `url` under the policy. Raises a DomainError subclass on every refusal or failure."""
        check_url(url, self._addresses)
        deadline = FetchDeadline(self._policy.total_timeout)
        # The adapter is used without a requests.Session on purpose: a Session would bring proxy and
        # .netrc settings from the environment (unless trust_env is off), a cookie jar, and its own
        # redirect machinery (which reads whole redirect bodies), none of which this fetch wants.
        adapter = GuardedAdapter(ConnectGuard(self._addresses, self._resolver, deadline, self._policy.connect_timeout))
        try:
            return self._follow(adapter, url, deadline)
        finally:
            adapter.close()
            deadline.close()

    def _follow(self, adapter: GuardedAdapter, url: str, deadline: FetchDeadline) -> FetchedImage:
        visited = {url}
        redirects = 0
        while True:
            response = self._request(adapter, url, deadline, redirected=redirects > 0)
            try:
                location = _redirect_target(response)
                if location is None:
                    return self._accept(response, url, deadline)
            finally:
                response.close()
            if redirects >= self._policy.max_redirects:
                raise UrlNotAllowed(f"The URL redirected more than {self._policy.max_redirects} times.")
            url = self._redirected_url(url, location)
            if url in visited:
                raise UrlNotAllowed("The URL redirects in a loop.")
            visited.add(url)
            redirects += 1

    def _redirected_url(self, current: str, location: str) -> str:
        try:
            target = urljoin(current, location)
            check_url(target, self._addresses, redirected=True)
        except UrlNotAllowed:
            raise
        except InvalidRequest as malformed:  # the server's Location is broken, not the user's URL
            raise FetchFailed(malformed.message) from None
        except ValueError:  # urljoin refuses some broken authorities, e.g. "http://[::1/"
            raise FetchFailed("The URL redirected to a URL that is malformed.") from None
        return target

    def _request(
        self, adapter: GuardedAdapter, url: str, deadline: FetchDeadline, *, redirected: bool
    ) -> requests.Response:
        if deadline.expired:
            raise deadline.timeout_error()
        try:
            prepared = requests.Request("GET", url, headers=self._headers()).prepare()
        except (requests.RequestException, ValueError):  # check_url let through something requests cannot use
            if redirected:
                raise FetchFailed("The URL redirected to a URL that is malformed.") from None
            raise InvalidRequest("The URL is malformed.") from None
        remaining = deadline.remaining()
        timeout = (min(self._policy.connect_timeout, remaining), min(self._policy.read_timeout, remaining))
        try:
            return adapter.send(prepared, stream=True, timeout=timeout)
        except UrlNotAllowed as refusal:
            if not redirected:
                raise
            # Refused at connect time: say it was the redirect, or the user looks for a fault in their URL.
            raise UrlNotAllowed(f"The URL redirected to a host that is not allowed. {refusal.message}") from None
        except DomainError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            raise self._failure(error, _host_of(url), deadline) from None

    def _headers(self) -> dict[str, str]:
        return {
            "User-Agent": self._policy.user_agent,
            "Accept": "image/jpeg, image/png;q=0.9, */*;q=0.1",
            "Accept-Encoding": "identity",  # take the bytes as sent: no inflating of untrusted data
        }

    def _accept(self, response: requests.Response, url: str, deadline: FetchDeadline) -> FetchedImage:
        if not 200 <= response.status_code < 300:
            failure = RemoteServerError if response.status_code >= 500 else RemoteClientError
            raise failure(f"The server answered HTTP {_describe_status(response.status_code)}.")
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in _IDENTITY_ENCODINGS:
            raise FetchFailed(f"The server sent a compressed ({encoding}) body; the image must be served uncompressed.")
        self._refuse_declared_length(response)
        try:
            content = self._read_body(response, deadline)
        except DomainError:
            raise
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as error:
            raise self._failure(error, _host_of(url), deadline) from None
        return FetchedImage(content=content)

    def _refuse_declared_length(self, response: requests.Response) -> None:
        declared = response.headers.get("Content-Length", "").strip()
        # A malformed length is left to urllib3/the byte counter below; only a clear overshoot is refused early.
        if declared.isascii() and declared.isdigit() and int(declared) > self._policy.max_bytes:
            limit = self._policy.max_bytes
            raise PayloadTooLarge(
                f"The image is {int(declared)} bytes according to the server; the limit is {limit} bytes."
            )

    def _read_body(self, response: requests.Response, deadline: FetchDeadline) -> bytes:
        chunks: list[bytes] = []
        received = 0
        for chunk in response.raw.stream(_CHUNK_BYTES, decode_content=False):
            received += len(chunk)
            if received > self._policy.max_bytes:
                raise PayloadTooLarge(f"The image is larger than the limit of {self._policy.max_bytes} bytes.")
            if deadline.expired:
                raise deadline.timeout_error()
            chunks.append(chunk)
        # The deadline shuts sockets down, which can look like a normal end of a body without Content-Length.
        if deadline.expired:
            raise deadline.timeout_error()
        return b"".join(chunks)

    def _failure(self, error: Exception, host: str, deadline: FetchDeadline) -> FetchFailed:
        if deadline.expired:
            return deadline.timeout_error()
        if isinstance(error, requests.exceptions.ConnectTimeout):
            return FetchFailed(
                f"Connecting to {host!r} timed out after {describe_seconds(self._policy.connect_timeout)}."
            )
        if isinstance(
            error,
            (
                requests.exceptions.ReadTimeout,
                urllib3.exceptions.ReadTimeoutError,
                TimeoutError,
            ),
        ):
            return FetchFailed(
                f"The server at {host!r} sent nothing for {describe_seconds(self._policy.read_timeout)}."
            )
        if isinstance(error, requests.exceptions.SSLError):
            return FetchFailed(f"The TLS connection to {host!r} failed (invalid certificate or handshake error).")
        if isinstance(
            error,
            (
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.ProtocolError,
            ),
        ):
            return FetchFailed(f"The connection to {host!r} broke off before the whole response was received.")
        if _caused_by(error, ConnectionRefusedError):
            return ConnectionRefused(f"The server at {host!r} refused the connection.")
        return FetchFailed(f"Could not connect to {host!r}.")


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether `kind` is anywhere in the chain: requests wraps urllib3's error, which wraps the socket's."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        pending += [item for item in linked if isinstance(item, BaseException)]
    return False


def check_url(url: str, addresses: AddressPolicy, *, redirected: bool = False) -> None:
    """Refuse, before any network activity, a URL whose scheme, userinfo or literal host is not allowed.

    This gives early, clear errors; the authoritative address check still happens at connect time.
    """
    prefix = "The URL redirected to a URL that" if redirected else "The URL"
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequest("The URL is empty.")
    if len(url) > _MAX_URL_LENGTH:
        raise InvalidRequest(f"The URL is longer than {_MAX_URL_LENGTH} characters.")
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in url):
        # urllib silently drops tabs and newlines, other parsers do not: refuse instead of guessing.
        raise InvalidRequest(f"{prefix} contains control characters.")
    try:
        parsed = parse_url(url.strip())
    except ValueError:  # LocationParseError is a ValueError
        raise InvalidRequest(f"{prefix} is malformed.") from None
    if parsed.scheme is None:
        raise UrlNotAllowed(f"{prefix} must start with http:// or https://.")
    if parsed.scheme.lower() not in ("http", "https"):
        raise UrlNotAllowed(f"{prefix} uses the scheme {parsed.scheme[:20]!r}; only http and https can be fetched.")
    if parsed.auth is not None:
        raise UrlNotAllowed(f"{prefix} contains credentials (user@host); such URLs are not accepted.")
    host = parsed.host or ""
    if not host:
        raise InvalidRequest(f"{prefix} has no host.")
    if parsed.port == 0:
        raise InvalidRequest(f"{prefix} has an invalid port 0.")
    _check_literal_host(parsed, addresses, prefix)


def _check_literal_host(parsed: Url, addresses: AddressPolicy, prefix: str) -> None:
    host = parsed.host or ""
    name = host.rstrip(".") or host
    address = literal_address(name)
    if address is None:
        if is_noncanonical_numeric_host(name):
            raise UrlNotAllowed(
                f"{prefix} has a numeric host in a non-standard form; write IPv4 addresses as four decimal numbers."
            )
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    reason = addresses.refusal(address, port)
    if reason is not None:
        raise UrlNotAllowed(f"{prefix} points to {reason}; only public addresses can be fetched.")


def _redirect_target(response: requests.Response) -> str | None:
    """The Location of a redirect we follow, or None for any other response."""
    location = response.headers.get("Location")
    if response.status_code not in _FOLLOWED_REDIRECTS or location is None:
        return None
    # http.client decodes header bytes as latin-1; servers that send non-ASCII mostly mean UTF-8.
    try:
        return location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return location


def _host_of(url: str) -> str:
    try:
        return parse_url(url).host or "the server"
    except ValueError:
        return "the server"


def _describe_status(status: int) -> str:
    try:
        return f"{status} ({http.HTTPStatus(status).phrase})"
    except ValueError:
        return str(status)
