"""The webhook task: POST a finished job to its ``callback_url``, signed, one attempt per call.

A thin function over injected services, like the render task; the Celery wiring in
workers/callback_worker.py schedules the next attempt (its declared retry policy) when this one
says to retry. Each attempt
is counted on the job (``callback.attempts``, ``status``, ``last_error``), so the job's owner can
see what happened without reading our logs.

Retried: network errors, timeouts, 5xx, 408 and 429. Not retried: any other answer (the
receiver refused the call: 4xx; or redirected it, which is not followed, since a redirect could
lead anywhere), and a URL that now resolves to an address callbacks may not go to.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from docrender.errors import CallbackHostUnresolved, CallbackUrlRefused
from docrender.jobs.store import JobStore
from docrender.monitoring import logs
from docrender.responses import JobOut
from docrender.webhooks.rules import (
    SIGNATURE_HEADER,
    Destination,
    WebhookSecrets,
    check_callback_url,
    signature,
)
from docrender.webhooks.store import CallbackStatus, CallbackStore

log = logging.getLogger(__name__)

USER_AGENT = "docrender-webhooks/1"
_RETRYABLE_STATUSES = frozenset({408, 429})


class Attempt(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # failed, and another attempt is due
    GAVE_UP = "gave_up"  # failed for good (or out of attempts)
    STALE = "stale"  # nothing to do: the job expired, or a newer delivery replaced this one


@dataclass(frozen=True)
class CallbackServices:
    jobs: JobStore
    callbacks: CallbackStore
    secrets: WebhookSecrets
    allow_private: bool
    max_attempts: int
    timeout: float
    # Sends one request; the default connects to the checked address only (see post_pinned).
    post: Callable[[Destination, bytes, dict[str, str], float], int] = (
        lambda destination, body, headers, timeout: post_pinned(destination, body, headers, timeout)
    )
    clock: Callable[[], float] = time.time


class _Failure(Exception):
    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def deliver_callback(job_id: str, delivery_id: str, services: CallbackServices) -> Attempt:
    """Make one attempt of delivery ``delivery_id`` of the job's webhook."""
    job = services.jobs.get(job_id, tenant=None)
    if job is None or job.options.callback_url is None:
        return Attempt.STALE
    callback = services.callbacks.state(job_id, job.options.callback_url)
    with logs.bind(job_id=job_id, tenant=job.tenant, request_id=job.request_id):
        attempt = callback.attempts + 1
        payload = JobOut.of(job, callback, job.options.messages or "en").body()
        try:
            _send(services, job.tenant, job.request_id, callback.url, delivery_id, payload)
        except _Failure as failure:
            last = attempt >= services.max_attempts or not failure.retryable
            status = CallbackStatus.FAILED if last else CallbackStatus.RETRYING
            if not services.callbacks.record_attempt(job_id, delivery_id, status, failure.reason):
                return Attempt.STALE
            log.warning(
                "webhook attempt %d of %d failed: %s",
                attempt,
                services.max_attempts,
                failure.reason,
            )
            return Attempt.GAVE_UP if last else Attempt.RETRY
        if not services.callbacks.record_attempt(
            job_id, delivery_id, CallbackStatus.SUCCEEDED, None
        ):
            return Attempt.STALE
        log.info("webhook delivered on attempt %d", attempt)
        return Attempt.DELIVERED


def _send(
    services: CallbackServices,
    tenant: str,
    request_id: str,
    url: str,
    delivery_id: str,
    payload: dict[str, object],
) -> None:
    secret = services.secrets.for_tenant(tenant)
    if secret is None:
        raise _Failure("the tenant has no webhook secret any more", retryable=False)
    try:
        destination = check_callback_url(url, services.allow_private)
    except CallbackUrlRefused as exc:
        # A name that no longer resolves may come back; one that now points inside may not.
        retryable = isinstance(exc, CallbackHostUnresolved)
        raise _Failure(exc.details["reason"], retryable=retryable) from None
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(secret, int(services.clock()), body),
        # The same for every attempt of one delivery: receivers drop repeats by it.
        "X-Docrender-Delivery": delivery_id,
        "X-Docrender-Event": "job.finished",
        "X-Request-ID": request_id,
    }
    try:
        status = services.post(destination, body, headers, services.timeout)
    except httpx.TransportError as exc:
        raise _Failure(f"{exc.__class__.__name__}: {exc}"[:300], retryable=True) from None
    if 200 <= status < 300:
        return
    retryable = status >= 500 or status in _RETRYABLE_STATUSES
    hint = " (redirects are not followed)" if 300 <= status < 400 else ""
    raise _Failure(f"the receiver answered HTTP {status}{hint}", retryable=retryable)


def post_pinned(
    destination: Destination, body: bytes, headers: dict[str, str], timeout: float
) -> int:
    """POST to the checked address, with the URL's host name in ``Host`` and in TLS (SNI and
    certificate check), so the name cannot resolve elsewhere between check and connection.
    No proxy from the environment, no redirects, and the response body is never read.

    ``timeout`` bounds the whole attempt (connect, send, the answer's status and headers), not
    each read: a receiver trickling a byte at a time is cut off at the deadline. What is read of
    the answer is bounded too: its head by httpcore's 100 KiB limit, its body not at all."""
    try:
        return asyncio.run(asyncio.wait_for(_post(destination, body, headers, timeout), timeout))
    except TimeoutError:
        raise httpx.TimeoutException(f"no answer within {timeout:g} s") from None


async def _post(
    destination: Destination, body: bytes, headers: dict[str, str], timeout: float
) -> int:
    url = destination.url
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    if ":" in url.host:  # IPv6 literal
        host = f"[{url.host}]" if url.port is None else f"[{url.host}]:{url.port}"
    async with (
        httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        client.stream(
            "POST",
            destination.pinned_url,
            content=body,
            headers={**headers, "Host": host},
            extensions=extensions,
        ) as response,
    ):
        return response.status_code


def schedule_callback(
    job_id: str, jobs: JobStore, callbacks: CallbackStore, send: Callable[[str, str], None]
) -> bool:
    """Start a new delivery of a finished job's webhook (if it has one) and queue its first
    attempt with ``send(job_id, delivery_id)``. A job retried and finished again gets a new
    delivery; the earlier one's pending retries then stop."""
    options = jobs.options(job_id)
    if options is None or options.callback_url is None:
        return False
    delivery_id = uuid.uuid4().hex
    if not callbacks.start(job_id, delivery_id):
        return False
    send(job_id, delivery_id)
    return True
