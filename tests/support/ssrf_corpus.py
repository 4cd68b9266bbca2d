"""The SSRF corpus (tests/corpora/ssrf.yaml) as cases, and the check that keeps every case on this machine.

A case is only ever sent when the fetcher, run in this process on the same code, refuses it before
any network activity, or when its target is this machine (loopback, the unspecified address,
`localhost`), where a recording listener sees any connection that is made. So a weakened guard makes
the suite fail, never reach another host.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from urllib3.util import parse_url

from lib.domain.errors import InvalidRequest, UrlNotAllowed
from lib.fetching.addresses import AddressPolicy
from lib.fetching.fetch import check_url
from lib.fetching.guarded_http import literal_address

CORPUS_PATH = Path(__file__).resolve().parents[1] / "corpora" / "ssrf.yaml"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
DEFAULT_CODE = "url_not_allowed"
NOTHING_ALLOWED = AddressPolicy()


@dataclass(frozen=True)
class Ports:
    """Where the corpus's placeholders point in one run."""

    port: int
    port6: int
    port_other: int
    server_port: int

    def fill(self, template: str) -> str:
        for name in ("port_other", "port6", "port", "server_port"):  # longest first: {port} is a prefix
            template = template.replace("{" + name + "}", str(getattr(self, name)))
        return template

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@dataclass(frozen=True)
class Redirect:
    path: str  # on the allow-listed server
    status: int
    location: str  # template


@dataclass(frozen=True)
class ApiCase:
    """One URL for the upload endpoint, and what the allow-listed server must answer for it."""

    id: str
    url: str  # template
    code: str
    redirects: tuple[Redirect, ...] = ()
    image_paths: tuple[str, ...] = ()  # paths on the allow-listed server that serve a valid image


@dataclass(frozen=True)
class DnsCase:
    id: str
    url: str  # template
    answers: tuple[tuple[str, ...], ...]  # one tuple per resolver call; the last repeats
    code: str
    redirects_to: str | None = None  # the first request's path answers 302 to this, on the same host


def _document() -> dict[str, Any]:
    return yaml.safe_load(CORPUS_PATH.read_text())


def api_cases() -> list[ApiCase]:
    document = _document()
    cases = [ApiCase(c["id"], c["url"], c.get("code", DEFAULT_CODE)) for c in document["direct"]]
    for target in document["redirect_targets"]:
        for status in REDIRECT_STATUSES:
            path = f"/redirect/{status}/{target['id']}"
            cases.append(
                ApiCase(
                    id=f"redirect-{status}-{target['id']}",
                    url="http://127.0.0.1:{server_port}" + path,
                    code=target.get("code", DEFAULT_CODE),
                    redirects=(Redirect(path, status, target["location"]),),
                )
            )
    for chain in document["redirect_chains"]:
        hops = chain["hops"]
        redirects = {Redirect(hops[i], 302, hops[i + 1]) for i in range(len(hops) - 1)}
        ends_in_image = hops[-1] not in hops[:-1]
        cases.append(
            ApiCase(
                id=chain["id"],
                url="http://127.0.0.1:{server_port}" + hops[0],
                code=chain.get("code", DEFAULT_CODE),
                redirects=tuple(sorted(redirects, key=lambda r: r.path)),
                image_paths=(hops[-1],) if ends_in_image else (),
            )
        )
    return cases


def dns_cases() -> list[DnsCase]:
    return [
        DnsCase(
            id=c["id"],
            url=c["url"],
            answers=tuple(tuple(answer) for answer in c["answers"]),
            code=c.get("code", DEFAULT_CODE),
            redirects_to=c.get("redirects_to"),
        )
        for c in _document()["dns"]
    ]


# --- keeping the suite on this machine ----------------------------------------------------------------
def refused_before_any_network(url: str, *, redirected: bool = False) -> bool:
    """True if the fetcher refuses `url` on its scheme, userinfo or literal address: no DNS, no connection."""
    try:
        check_url(url, NOTHING_ALLOWED, redirected=redirected)
    except (UrlNotAllowed, InvalidRequest):
        return True
    return False


def stays_on_this_machine(url: str) -> bool:
    """True if a connection to `url`'s host could only reach this machine (loopback or unspecified)."""
    host = (parse_url(url).host or "").rstrip(".")
    if host == "localhost":  # resolved from the hosts file
        return True
    address = literal_address(host)
    return address is not None and address_stays_on_this_machine(address)


def address_stays_on_this_machine(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def unsafe_targets(case: ApiCase, ports: Ports) -> list[str]:
    """The URLs of `case` (its own, and every Location it is redirected to) that could leave this machine.

    Each must be refused before any network activity, or point at this machine; anything else is
    reported, and the case must not be sent.
    """
    url = ports.fill(case.url)
    targets = [(url, False)] + [
        (urllib.parse.urljoin(ports.server + r.path, ports.fill(r.location)), True) for r in case.redirects
    ]
    return [
        target
        for target, redirected in targets
        if not target.startswith(ports.server + "/")
        and not refused_before_any_network(target, redirected=redirected)
        and not stays_on_this_machine(target)
    ]
