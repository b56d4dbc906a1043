"""One tenant's long polls beside another tenant's requests, against gunicorn as it is deployed
(deploy/gunicorn.conf.py: threads), with one API process so that every request shares its
threads: tenant A opens 40 long polls at once (its cap holds some, the rest are 429 and retried
after Retry-After, as a good client does) while tenant B lists its templates. B is answered
while A's polls are all still open (it never waits for a thread one of them holds); its median
and worst latency are printed with the test's output (make bench measures them beside a running
job, bench_tenants)."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.processes import start_api, start_redis
from docrender.processes import free_port
from tests.helpers.documents import make_docx
from tests.helpers.processes import wait_until


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    """Redis and one gunicorn API process (no worker: a job stays queued, so a long poll on it
    is held for its whole wait)."""
    redis_process, redis_url = start_redis(tmp_path, free_port())
    bind = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCRENDER_")}
    env.update(
        DOCRENDER_DATA_DIR=str(tmp_path),
        DOCRENDER_REDIS_URL=redis_url,
        DOCRENDER_BIND=bind,
        DOCRENDER_API_PROCESSES="1",
        DOCRENDER_API_KEYS="a:key-a,b:key-b",
    )
    process = start_api(env, bind, tmp_path / "api.log")
    try:
        yield f"http://{bind}"
    finally:
        process.stop(20)
        redis_process.stop(10)


def test_another_tenants_requests_never_wait_for_a_tenants_long_polls(api: str) -> None:
    a, b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
    template = httpx.post(
        f"{api}/v1/templates",
        headers=a,
        timeout=60,
        files={"file": ("t.docx", make_docx("{{ unit }}"))},
    ).json()["id"]
    job = httpx.post(
        f"{api}/v1/jobs",
        headers=a,
        json={"template": template, "documents": [{"data": {"unit": "甲"}}]},
    ).json()
    held_until: list[float] = []  # when each poll the cap held came back
    refused: list[int] = []

    def poll() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(2):  # once more after its Retry-After, then it gives up
                answer = client.get(f"{api}/v1/jobs/{job['id']}?wait=8", headers=a)
                if answer.status_code != 429:
                    held_until.append(time.monotonic())
                    return
                refused.append(1)
                time.sleep(int(answer.headers["Retry-After"]))

    pollers = [threading.Thread(target=poll) for _ in range(40)]
    for poller in pollers:
        poller.start()
    wait_until(lambda: len(refused) == 32)  # the cap's 8 are held; the others were refused
    latencies, answered_at = [], 0.0
    with httpx.Client(timeout=60) as client:
        for _ in range(20):
            started = time.monotonic()
            assert client.get(f"{api}/v1/templates", headers=b).status_code == 200
            answered_at = time.monotonic()
            latencies.append(answered_at - started)
    for poller in pollers:
        poller.join()
    print(
        f"B while A polls: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"worst {max(latencies) * 1000:.1f} ms; A's 429s waited out: {len(refused)}"
    )
    assert answered_at < min(held_until), "B waited for a thread one of A's polls held"
    assert refused, "A's cap refused some of its 40 polls"
