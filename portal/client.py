"""What a request says about its client. `X-Forwarded-*` is believed only as far as the portal
is configured to sit behind proxies (`trust_proxy`: how many hops, each of which appends the
address it received the request from to `X-Forwarded-For`); otherwise anyone could set it.

The client's address is the right-most `X-Forwarded-For` entry that no trusted proxy wrote: with
one trusted proxy, the last entry (the proxy appended it); with two, the one before, and so on.
Entries further left were written by the client and are never believed, so rotating or forging
them changes nothing (sign-in limits are keyed on this address).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from fastapi import Request

from portal.settings import PortalConfig

MAX_FORWARDED_ENTRIES = 32  # more than any real chain; the rest is ignored (and a forger's)


@dataclass(frozen=True)
class ClientAddress:
    """The address believed and what it was read from (for the audit log)."""

    address: str
    peer: str  # the connection's own peer (the nearest proxy, when there is one)
    forwarded_for: str  # the X-Forwarded-For header as received ("" when none or not trusted)
    trusted_hops: int

    def audit_detail(self) -> dict[str, object]:
        detail: dict[str, object] = {"ip": self.address, "peer": self.peer, "trusted_hops": self.trusted_hops}
        if self.forwarded_for:
            detail["forwarded_for"] = self.forwarded_for[:500]
        return detail


def is_https(request: Request, settings: PortalConfig) -> bool:
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    if settings.trust_proxy >= 1:
        # the nearest proxy's word (the last value it set): it terminates TLS
        values = [v.strip().lower() for v in ",".join(request.headers.getlist("x-forwarded-proto")).split(",")]
        if values and values[-1] == "https":
            return True
    return request.url.scheme == "https"


def _clean(entry: str) -> str:
    """An address as written in X-Forwarded-For, normalised when it parses (brackets, ports)."""
    text = entry.strip().strip('"')
    candidate = text
    if candidate.startswith("[") and "]" in candidate:  # [v6]:port
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # v4:port
        candidate = candidate.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return text[:64] or "unknown"


def client_address(request: Request, settings: PortalConfig) -> ClientAddress:
    peer = request.client.host if request.client else "unknown"
    hops = max(0, int(settings.trust_proxy))
    if hops == 0:
        return ClientAddress(peer, peer, "", 0)
    header = ",".join(request.headers.getlist("x-forwarded-for"))
    chain = [entry for entry in header.split(",") if entry.strip()][-MAX_FORWARDED_ENTRIES:]
    # the peer is the nearest trusted proxy; the hops-1 entries nearest to it were written by
    # the other trusted proxies; the next one to the left is the client as the outermost saw it
    full = [_clean(entry) for entry in chain] + [peer]
    address = full[-(hops + 1)] if len(full) > hops else full[0]
    return ClientAddress(address, peer, header, hops)


def client_ip(request: Request, settings: PortalConfig) -> str:
    return client_address(request, settings).address
