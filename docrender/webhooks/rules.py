"""Webhooks: where a job's callback may go, and how its body is signed.

Shared by the API, which checks a ``callback_url`` when the job is submitted, and the callback
worker, which checks it again right before each attempt (a name can resolve elsewhere by then)
and connects to exactly the address it checked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from docrender.errors import CallbackHostUnresolved, CallbackUrlRefused
from docrender.i18n import _
from docrender.jobs.options import MAX_URL_LENGTH
from docrender.tenants.keys import KeyStore

SIGNATURE_HEADER = "X-Docrender-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<hex>``: HMAC-SHA256 over ``<t>.`` followed by the raw body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass(frozen=True)
class Destination:
    """A callback URL and the address checked for it, to connect to and nowhere else."""

    url: httpx.URL
    address: str

    @property
    def pinned_url(self) -> httpx.URL:
        """The URL with the checked address in place of the host name. The request still
        says ``Host: <name>`` and TLS still verifies the certificate for the name."""
        return self.url.copy_with(host=self.address)


def check_callback_url(raw: str, allow_private: bool) -> Destination:
    """Resolve ``raw`` and refuse it unless every address it resolves to is public (or
    ``allow_private``). Raises CallbackUrlRefused saying why."""
    url = _parse(raw)
    try:
        infos = socket.getaddrinfo(
            url.host, url.port or _default_port(url), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise _refused(
            raw, f"its host name {url.host!r} does not resolve ({exc})", CallbackHostUnresolved
        ) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        # Every address, not just the first: the connection could use any of them.
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%")[0])):
                raise _refused(
                    raw,
                    f"it points to {address}, which is not a public address (loopback, private, "
                    "link-local or reserved); callbacks go to public addresses only "
                    "(DOCRENDER_WEBHOOK_ALLOW_PRIVATE=1 "
                    "lifts this for trusted networks)",
                )
    return Destination(url, addresses[0])


def _parse(raw: str) -> httpx.URL:
    if len(raw) > MAX_URL_LENGTH:
        raise _refused(raw[:100] + "...", f"it is longer than {MAX_URL_LENGTH} characters")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _refused(raw, f"it is not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _refused(raw, "it must be an absolute http:// or https:// URL")
    if url.userinfo:
        raise _refused(raw, "it must not carry a user name or password; verify the signature")
    if url.fragment:
        raise _refused(raw, "it must not have a #fragment")
    return url


# IPv6 ranges that carry an IPv4 address, and where in the address it sits: a NAT64 or 6to4
# gateway would take the connection to that IPv4 address, so it is what must be public.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated, still private


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _SITE_LOCAL or address in _NAT64_LOCAL:
            return False
        carried = _carried_ipv4(address)
        if carried is not None:
            return _is_public(carried)
    return address.is_global and not address.is_multicast


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped (::ffff:a.b.c.d), compatible
    (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:AABB:CCDD::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = int(address)
    if address in _NAT64 or (packed >> 32 == 0 and packed > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _refused(
    url: str, reason: str, kind: type[CallbackUrlRefused] = CallbackUrlRefused
) -> CallbackUrlRefused:
    return kind(
        _("callback_url is refused: %(reason)s.", reason=reason),
        {"callback_url": url, "reason": reason},
    )


class WebhookSecrets:
    """A tenant's signing secret: DOCRENDER_WEBHOOK_SECRETS first, then the key store."""

    def __init__(self, configured: Mapping[str, str], store: KeyStore) -> None:
        self.configured = configured
        self.store = store

    def for_tenant(self, tenant: str) -> str | None:
        return self.configured.get(tenant) or self.store.webhook_secret(tenant)
