"""Which IP addresses a server-side fetch may connect to: the address half of the SSRF guard.

The rule is "public unicast only, unless explicitly allow-listed":

* An address that wraps an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``,
  6to4 ``2002::/16``) is judged by the IPv4 address it carries, because that is where the packets end up.
* A fixed deny table names every special-purpose range we refuse (loopback, RFC 1918, CGNAT,
  link-local and the cloud metadata address, multicast, reserved, documentation, ULA, Teredo, ...).
  It is spelled out here instead of relying only on ``ipaddress.is_global`` because that property
  changed between Python 3.11, 3.12 and 3.13 (e.g. ``::7f00:1`` and 6to4 are "global" on some versions).
* Whatever survives the table must still be ``is_global`` and, for IPv6, inside 2000::/3, the only
  block IANA allocates for global unicast.

An allow-list entry overrides all of this for the addresses (and optionally the port) it names. It
exists so the local stack can fetch from its own fixture server on 127.0.0.1; deployed stages allow nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_PRIVATE = "a private network address"

# Order matters only for the wording of the reason: the first match names the range.
_DENIED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", _PRIVATE),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address"),
        (
            "169.254.0.0/16",
            "a link-local address (this range holds the cloud metadata service)",
        ),
        ("172.16.0.0/12", _PRIVATE),
        ("192.0.0.0/24", "an IETF protocol-assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", _PRIVATE),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)

_DENIED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        # Deprecated "IPv4-compatible" addresses; some stacks still route ::a.b.c.d to a.b.c.d.
        ("::/96", "an IPv4-compatible IPv6 address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address is a wrapper for (mapped, NAT64 or 6to4), else None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (a phrase like "a loopback address"), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "an IPv6 address with a zone index"
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = non_public_reason(inner)
            return None if reason is None else f"{reason} wrapped in IPv6"
        table: Iterable[tuple[IPNetwork, str]] = _DENIED_V6
    else:
        table = _DENIED_V4
    for network, reason in table:
        if address in network:
            return reason
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return "an address outside the IPv6 global unicast range"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: a network and, optionally, the only port allowed on it."""

    network: IPNetwork
    port: int | None = None

    def matches(self, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if address.version == self.network.version and address in self.network:
            return True
        # The kernel sends ::ffff:a.b.c.d to a.b.c.d, so an IPv4 entry covers its mapped form too.
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return mapped is not None and self.network.version == 4 and mapped in self.network


def parse_allow_entry(text: str) -> AllowEntry:
    """Parse "IP", "IP/prefix", "IPv4[/prefix]:port" or "[IPv6[/prefix]]:port". Raises ValueError on anything else."""
    if not isinstance(text, str):
        raise TypeError(f"allow-list entry must be a string, got {type(text).__name__}")
    entry = text.strip()
    if not entry:
        raise ValueError("allow-list entry is empty")
    address_part, port = _split_port(entry)
    try:
        network = ipaddress.ip_network(address_part, strict=True)
    except ValueError as error:
        raise ValueError(
            f"allow-list entry {text!r} is not an IP address or CIDR network "
            f"(examples: 127.0.0.1:8123, 10.0.0.0/8, [::1]:8080): {error}"
        ) from None
    return AllowEntry(network=network, port=port)


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        closing = entry.find("]")
        if closing < 0:
            raise ValueError(f"allow-list entry {entry!r} has '[' without ']'")
        inside, rest = entry[1:closing], entry[closing + 1 :]
        if ":" not in inside:
            raise ValueError(f"allow-list entry {entry!r}: brackets are only for IPv6 addresses")
        if not rest:
            return inside, None
        if not rest.startswith(":"):
            raise ValueError(f"allow-list entry {entry!r} has text after ']' that is not ':port'")
        return inside, _parse_port(rest[1:], entry)
    if entry.count(":") == 1:  # IPv4 with a port; bare IPv6 always has two colons or more
        address_part, port_text = entry.split(":")
        return address_part, _parse_port(port_text, entry)
    return entry, None


def _parse_port(text: str, entry: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"allow-list entry {entry!r} has an invalid port {text!r} (expected 1-65535)")
    return int(text)


class AddressPolicy:
    """Decides whether a connection to (address, port) may be opened."""

    def __init__(self, allowed: Iterable[str] = ()):
        if isinstance(allowed, str):
            # A bare string would be iterated character by character; that is always a configuration slip.
            raise TypeError("the allow-list must be a sequence of entries, not a single string")
        self._allowed = tuple(parse_allow_entry(entry) for entry in allowed)

    def explicitly_allows(self, address: IPAddress, port: int) -> bool:
        """Whether an allow-list entry names this address (and port): a receiver set up on purpose."""
        return any(entry.matches(address, port) for entry in self._allowed)

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """None if the connection may be made, else the reason it may not."""
        if any(entry.matches(address, port) for entry in self._allowed):
            return None
        return non_public_reason(address)
