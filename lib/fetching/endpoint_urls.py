"""Webhook endpoint URLs: checked at registration and again at every delivery, sent to with no redirect.

The rules are the fetcher's SSRF guard (lib/fetching/addresses.py) plus two of their own:
* https only. Plain http is accepted only for an IP literal that the stage's allow-list names: a
  local or test receiver set up on purpose. Deployed stages allow nothing, so every endpoint there
  is a public https URL.
* Every address the host resolves to must be public (unless allow-listed). At delivery the check is
  made again on the very address the socket connects to (lib/fetching/guarded_http.py), so a name
  that resolved to a public address at registration and to a private one later (DNS rebinding) is
  refused then.
A redirect is never followed: its status is the receiver's answer, like any other non-2xx.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
import urllib3.exceptions
from urllib3.util import parse_url

from lib.domain.endpoints import MAX_URL_LENGTH
from lib.domain.errors import EndpointUrlRefused, HostNotFound, InvalidRequest, UrlNotAllowed
from lib.fetching.addresses import AddressPolicy
from lib.fetching.fetch import check_url
from lib.fetching.guarded_http import ConnectGuard, FetchDeadline, GuardedAdapter, literal_address, system_resolver
from lib.ports import Reply

NOT_HTTPS = "endpoint_url_not_https"
NOT_PUBLIC = "endpoint_url_not_public"
UNRESOLVABLE = "endpoint_url_unresolvable"
MALFORMED = "endpoint_url_malformed"
# Connecting is quick or never: the rest of the time limit is left to the receiver.
CONNECT_TIMEOUT_SECONDS = 3.0


class EndpointUrlPolicy:
    """The EndpointUrlCheck port: raises EndpointUrlRefused, with a code, for a URL that may not be used."""

    def __init__(self, allowed: tuple[str, ...] = (), resolver: Callable[[str, int], list[str]] | None = None):
        self.addresses = AddressPolicy(allowed)
        self.resolver = resolver or system_resolver

    def check(self, url: str) -> None:
        if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
            raise EndpointUrlRefused(f"The URL must be a string of at most {MAX_URL_LENGTH} characters.", MALFORMED)
        try:
            check_url(url, self.addresses)
        except UrlNotAllowed as refused:
            raise EndpointUrlRefused(refused.message.replace("fetched", "called"), NOT_PUBLIC) from None
        except InvalidRequest as malformed:
            raise EndpointUrlRefused(malformed.message, MALFORMED) from None
        parsed = parse_url(url.strip())
        scheme, host = (parsed.scheme or "").lower(), parsed.host or ""
        port = parsed.port or (443 if scheme == "https" else 80)
        if scheme != "https":
            literal = literal_address(host)
            if literal is None or not self.addresses.explicitly_allows(literal, port):
                raise EndpointUrlRefused("The URL must use https.", NOT_HTTPS)
        deadline = FetchDeadline(CONNECT_TIMEOUT_SECONDS)
        try:
            ConnectGuard(self.addresses, self.resolver, deadline, CONNECT_TIMEOUT_SECONDS).checked_addresses(host, port)
        except HostNotFound as missing:
            raise EndpointUrlRefused(missing.message, UNRESOLVABLE) from None
        except UrlNotAllowed as refused:
            raise EndpointUrlRefused(refused.message.replace("fetched", "called"), NOT_PUBLIC) from None
        finally:
            deadline.close()


class GuardedWebhookSender:
    """The WebhookSender port through the SSRF guard: each connection's address is checked as it opens."""

    def __init__(self, policy: EndpointUrlPolicy):
        self.policy = policy

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_seconds: int) -> Reply:
        deadline = FetchDeadline(CONNECT_TIMEOUT_SECONDS + timeout_seconds)
        # No Session: nothing from the environment (proxies, .netrc), no cookies, no redirects.
        adapter = GuardedAdapter(
            ConnectGuard(self.policy.addresses, self.policy.resolver, deadline, CONNECT_TIMEOUT_SECONDS)
        )
        try:
            prepared = requests.Request("POST", url, data=body, headers=headers).prepare()
            # The answer's status and headers are all that matter: its body is never read.
            response = adapter.send(prepared, stream=True, timeout=(CONNECT_TIMEOUT_SECONDS, timeout_seconds))
            reply = Reply(response.status_code, response.headers.get("Retry-After"))
            response.close()
            return reply
        except UrlNotAllowed as refused:
            return Reply(None, error=f"the endpoint's address is refused: {refused.message}", refused=True)
        except HostNotFound:
            return Reply(None, error="the endpoint's host could not be resolved")
        except requests.Timeout:
            return Reply(None, error="the receiver timed out")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as e:
            if deadline.expired:
                return Reply(None, error="the receiver timed out")
            return Reply(None, error=f"could not reach the receiver: {type(e).__name__}")
        finally:
            adapter.close()
            deadline.close()
