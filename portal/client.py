"""What a request says about its client. `X-Forwarded-*` is believed only when the portal is
configured to sit behind a proxy (`trust_proxy`); otherwise anyone could set it."""

from __future__ import annotations

from fastapi import Request

from portal.settings import PortalConfig


def is_https(request: Request, settings: PortalConfig) -> bool:
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    if settings.trust_proxy and request.headers.get("x-forwarded-proto", "").lower() == "https":
        return True
    return request.url.scheme == "https"


def client_ip(request: Request, settings: PortalConfig) -> str:
    if settings.trust_proxy and request.headers.get("x-forwarded-for"):
        return request.headers["x-forwarded-for"].split(",")[0].strip()
    return request.client.host if request.client else "unknown"
