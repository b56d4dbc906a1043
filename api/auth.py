"""Bearer API keys, from the configuration or the key store (docrender/keystore.py). A key
belongs to one tenant; routes read the tenant from ``g.tenant``."""

from __future__ import annotations

import hmac

from flask import g, request

from api.services import services
from docrender.errors import Unauthorized


def require_tenant() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized(
            "Send your API key as 'Authorization: Bearer <key>'.",
            zh="请以 Authorization: Bearer <密钥> 发送您的 API 密钥。",
        )
    tenant = _tenant_for(presented.strip())
    if tenant is None:
        raise Unauthorized(
            "The API key is not valid; check it or ask for a new one.",
            zh="API 密钥无效；请检查，或申请一个新的。",
        )
    services().rate_limit.check(tenant, read=request.method in ("GET", "HEAD"))
    g.tenant = tenant


def _tenant_for(presented: str) -> str | None:
    """The tenant of a configured key (DOCRENDER_API_KEYS) or of a live key in the store."""
    # Compare against every configured key in constant time, so timing reveals nothing.
    found = None
    for key, tenant in services().settings.api_keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = tenant
    return found or services().keys.tenant_for(presented)
