"""The webhook task called directly, over a real job store and a fake network."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis
from celery.utils.time import get_exponential_backoff_interval

from docrender.jobs.queue import CALLBACK_TASK
from docrender.jobs.store import DocumentStatus, JobStore, NewDocument
from docrender.settings import Settings
from docrender.tenants.keys import KeyStore
from docrender.webhooks.rules import Destination, WebhookSecrets, check_callback_url
from docrender.webhooks.store import CallbackState, CallbackStore
from tests.helpers.clients import Receiver, record_job
from workers.callback_worker import RetryDelivery, make_callback_celery
from workers.callbacks import (
    Attempt,
    CallbackServices,
    deliver_callback,
    post_pinned,
    schedule_callback,
)

Post = Callable[[Destination, bytes, dict[str, str], float], int]


def finished_job(jobs: JobStore, url: str) -> str:
    job_id = record_job(jobs, "hooks", [NewDocument("a", {})], callback_url=url)
    jobs.finish_document(job_id, 0, DocumentStatus.SUCCEEDED)
    return job_id


def services(redis_client: redis.Redis, post: Post, **overrides: Any) -> CallbackServices:
    options: dict[str, Any] = {
        "jobs": JobStore(redis_client, 600),
        "callbacks": CallbackStore(redis_client),
        "secrets": WebhookSecrets({"hooks": "s"}, KeyStore(redis_client)),
        "allow_private": True,
        "max_attempts": 3,
        "timeout": 1,
        "post": post,
    } | overrides
    return CallbackServices(**options)


def start(svc: CallbackServices, job_id: str) -> str:
    sent: list[str] = []
    assert schedule_callback(
        job_id, svc.jobs, svc.callbacks, lambda _, delivery: sent.append(delivery)
    )
    return sent[0]


def callback_state(svc: CallbackServices, job_id: str) -> CallbackState:
    options = svc.jobs.options(job_id)
    assert options is not None and options.callback_url is not None
    return svc.callbacks.state(job_id, options.callback_url)


def unreachable(*_: Any) -> int:
    raise httpx.ConnectError("connection refused")


def test_network_errors_are_retried_until_the_last_attempt(redis_client: redis.Redis) -> None:
    svc = services(redis_client, unreachable)
    job_id = finished_job(svc.jobs, "http://127.0.0.1:9/h")
    delivery = start(svc, job_id)
    outcomes = [deliver_callback(job_id, delivery, svc) for _ in range(3)]
    assert outcomes == [Attempt.RETRY, Attempt.RETRY, Attempt.GAVE_UP]
    callback = callback_state(svc, job_id)
    assert (callback.status, callback.attempts) == ("failed", 3)
    assert "ConnectError" in (callback.last_error or "")


def recording(posted: list[Any]) -> Callable[..., int]:
    """A sender that keeps what it was asked to send and answers 200."""

    def post(*request: Any) -> int:
        posted.append(request)
        return 200

    return post


@pytest.mark.parametrize(
    ("status", "retried"),
    [(500, True), (502, True), (429, True), (408, True), (404, False), (301, False)],
)
def test_which_answers_are_retried(redis_client: redis.Redis, status: int, retried: bool) -> None:
    svc = services(redis_client, lambda *_: status)
    job_id = finished_job(svc.jobs, "http://127.0.0.1:9/h")
    outcome = deliver_callback(job_id, start(svc, job_id), svc)
    assert outcome == (Attempt.RETRY if retried else Attempt.GAVE_UP)


def test_a_url_that_now_points_inside_is_not_called(redis_client: redis.Redis) -> None:
    posted: list[Any] = []
    svc = services(redis_client, recording(posted), allow_private=False)
    job_id = finished_job(svc.jobs, "http://localhost:9/h")  # accepted earlier, say
    assert deliver_callback(job_id, start(svc, job_id), svc) == Attempt.GAVE_UP
    assert not posted
    assert "not a public address" in (callback_state(svc, job_id).last_error or "")


def test_a_newer_delivery_stops_the_older_one(redis_client: redis.Redis) -> None:
    posted: list[Any] = []
    svc = services(redis_client, recording(posted))
    job_id = finished_job(svc.jobs, "http://127.0.0.1:9/h")
    old = start(svc, job_id)
    new = start(svc, job_id)  # the job was retried and finished again
    assert deliver_callback(job_id, old, svc) == Attempt.STALE
    assert deliver_callback(job_id, new, svc) == Attempt.DELIVERED
    assert callback_state(svc, job_id).attempts == 1


def test_jobs_without_callback_schedule_nothing(redis_client: redis.Redis) -> None:
    jobs = JobStore(redis_client, 600)
    job_id = record_job(jobs, "hooks", [NewDocument("a", {})])
    callbacks = CallbackStore(redis_client)
    assert not schedule_callback(job_id, jobs, callbacks, lambda *_: pytest.fail("sent"))


def test_the_pinned_request_names_the_host_it_was_sent_for(receiver: Receiver) -> None:
    url = receiver.url.replace("127.0.0.1", "localhost")
    destination = check_callback_url(url, allow_private=True)
    assert destination.address in ("127.0.0.1", "::1")
    destination = Destination(destination.url, "127.0.0.1")
    assert post_pinned(destination, b"{}", {"X-Test": "1"}, 5) == 200
    assert receiver.calls[0].headers["Host"] == url.split("/")[2]  # localhost:<port>


def test_backoff_doubles_with_jitter_up_to_the_longest_wait(settings: Settings) -> None:
    """The delivery task declares its retry policy; Celery computes the waits from it."""
    app = make_callback_celery(dataclasses.replace(settings, webhook_retry_delay=2))
    task = app.tasks[CALLBACK_TASK]
    assert task.autoretry_for == (RetryDelivery,) and task.retry_jitter is True
    assert task.retry_backoff_max == settings.broker_visibility_timeout // 2 == 300

    def wait(retries: int) -> int:
        return get_exponential_backoff_interval(
            task.retry_backoff, retries, task.retry_backoff_max, full_jitter=task.retry_jitter
        )

    for retries in range(4):
        assert all(0 <= wait(retries) <= 2 * 2**retries for _ in range(50))
    assert max(wait(retries) for retries in range(4) for _ in range(50)) > 8  # it doubles
    assert all(wait(20) <= 300 for _ in range(50))


def test_a_host_name_that_stopped_resolving_is_tried_again(redis_client: redis.Redis) -> None:
    posted: list[Any] = []
    svc = services(redis_client, recording(posted), allow_private=False)
    job_id = finished_job(svc.jobs, "http://no-such-host.invalid/hook")
    assert deliver_callback(job_id, start(svc, job_id), svc) == Attempt.RETRY
    assert not posted
    assert "does not resolve" in (callback_state(svc, job_id).last_error or "")


class RawReceiver:
    """A loopback TCP server that reads the request and then answers with ``answer(send)``."""

    def __init__(self, answer: Callable[[Callable[[bytes], None]], None]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.server.accept()
        with connection:
            connection.settimeout(30)
            connection.recv(65536)
            with contextlib.suppress(OSError):
                self.answer(connection.sendall)

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=30)


def trickle(send: Callable[[bytes], None]) -> None:
    send(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(40):  # a byte every half second: each read is quick, the whole is 20 s
        send(b"a")
        time.sleep(0.5)


def huge_head(send: Callable[[bytes], None]) -> None:
    send(b"HTTP/1.1 200 OK\r\n")
    for _ in range(2000):
        send(b"X-Filler: " + b"a" * 1000 + b"\r\n")


def huge_body(send: Callable[[bytes], None]) -> None:
    send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
    for _ in range(1000):
        send(b"a" * 1_000_000)


@pytest.mark.parametrize(
    ("answer", "status"),
    [(trickle, None), (huge_head, None), (huge_body, 200)],
    ids=["trickled-head", "100-MiB-head", "1-GB-body"],
)
def test_an_attempt_ends_by_its_deadline_whatever_the_receiver_sends(
    answer: Callable[[Callable[[bytes], None]], None], status: int | None
) -> None:
    """The timeout bounds the attempt, not each read, and no more of the answer than its head
    (at most 100 KiB) is read: a slow or endless receiver costs one attempt's deadline."""
    receiver = RawReceiver(answer)
    destination = check_callback_url(receiver.url, allow_private=True)
    started = time.monotonic()
    try:
        if status is None:
            with pytest.raises(httpx.TransportError):
                post_pinned(destination, b"{}", {}, 3)
        else:
            assert post_pinned(destination, b"{}", {}, 3) == status
    finally:
        elapsed = time.monotonic() - started
        receiver.close()
    assert elapsed < 6, f"the attempt took {elapsed:.1f} s with a 3 s deadline"
