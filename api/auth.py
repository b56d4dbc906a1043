"""Bearer API keys, from the configuration or the key store (docrender/tenants/keys.py). A key
belongs to one tenant; routes read the tenant from ``g.tenant``.

The clerks' pages (web/) sign in with a key once and keep an *identity* of it in their session
cookie, never the key: ``store:<key id>`` or ``config:<sha256 of the key>``, and the id of a
session kept in Redis (docrender/tenants/sessions.py). Both are checked on every request, so
revoking the key or signing out ends the session, however the cookie was kept. A signed-in browser may also read
(GET) the /v1 routes with that cookie, for its downloads and progress; everything that changes
something goes through the pages' forms, each with a CSRF token."""

from __future__ import annotations

import hashlib
import hmac

from flask import g, request, session

from api.services import services
from docrender.errors import Unauthorized
from docrender.i18n import _


def require_tenant() -> None:
    header = request.headers.get("Authorization", "")
    if not header and request.method in ("GET", "HEAD") and (tenant := session_tenant()):
        services().rate_limit.check(tenant, read=True)
        g.tenant = tenant
        return
    scheme, _sep, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized(
            _("Send your API key as 'Authorization: Bearer <key>'."),
        )
    tenant = _tenant_for(presented.strip())
    if tenant is None:
        raise Unauthorized(
            _("The API key is not valid; check it or ask for a new one."),
        )
    services().rate_limit.check(tenant, read=request.method in ("GET", "HEAD"))
    g.tenant = tenant


def sign_in(presented: str) -> tuple[str, str] | None:
    """(tenant, identity) for a valid key, or None."""
    tenant = _tenant_for(presented)
    if tenant is None:
        return None
    key_id = services().keys.identify(presented)
    if key_id is not None:
        return tenant, f"store:{key_id}"
    return tenant, f"config:{hashlib.sha256(presented.encode()).hexdigest()}"


def session_tenant() -> str | None:
    """The tenant of the signed-in page session, while the session lives and its key is
    still valid."""
    identity, tenant = session.get("identity"), session.get("tenant")
    session_id = session.get("session")
    if not isinstance(identity, str) or not isinstance(tenant, str):
        return None
    if not isinstance(session_id, str) or services().page_sessions.tenant_of(session_id) != tenant:
        return None
    kind, _, value = identity.partition(":")
    if kind == "store":
        return tenant if services().keys.tenant_of_id(value) == tenant else None
    for key, owner in services().settings.api_keys.items():
        digest = hashlib.sha256(key.encode()).hexdigest()
        if hmac.compare_digest(digest, value) and owner == tenant:
            return tenant
    return None


def _tenant_for(presented: str) -> str | None:
    """The tenant of a configured key (DOCRENDER_API_KEYS) or of a live key in the store."""
    # Compare against every configured key in constant time, so timing reveals nothing.
    found = None
    for key, tenant in services().settings.api_keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = tenant
    return found or services().keys.tenant_for(presented)
