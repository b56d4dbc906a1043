"""Faults injected into a real stack of its own (private Redis with its append-only file, a
Celery worker with two LibreOffice instances, short timeouts). Each test ends with every
document of the job succeeded exactly once (or failed with a clear error), each PDF holding
its own document, and the service still serving."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import psutil
import pytest
import redis

from api import create_app
from cli.processes import ManagedProcess, start_redis, start_worker
from docrender.processes import free_port
from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text, squash
from tests.helpers.processes import SHORT_TIMEOUTS, processes_using

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.libreoffice]


# Tasks carry groups of 8 documents here (DOCRENDER_BATCH_SIZE): after the first group is
# done, four more are still to make when the fault strikes, more than the two converters hold.
MID_JOB, ONE_GROUP = 40, 8


@dataclasses.dataclass
class FaultStack:
    data_dir: Path
    port: int
    env: dict[str, str]
    redis: ManagedProcess | None = None
    worker: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start_redis(self) -> None:
        self.redis, _ = start_redis(self.data_dir, self.port)

    def start_worker(self, **overrides: str) -> None:
        started = time.time()
        self.worker = start_worker({**self.env, **overrides})
        client = redis.Redis.from_url(self.url, decode_responses=True)
        deadline = time.monotonic() + 120
        # Ready when each new pool process's LibreOffice converted its first document.
        while len(client.zrangebyscore("docrender:converters", started, "+inf")) < 2:
            assert self.worker.running(), "the worker exited during start-up"
            assert time.monotonic() < deadline, "the worker's converters did not become ready"
            time.sleep(0.2)

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop(grace_seconds=30)
            self.worker = None

    def pool_children(self) -> list[psutil.Process]:
        assert self.worker is not None
        main = psutil.Process(self.worker.process.pid)
        return [p for p in main.children() if p.name().startswith("python")]

    def soffices(self) -> list[psutil.Process]:
        assert self.worker is not None
        main = psutil.Process(self.worker.process.pid)
        return [p for p in main.children(recursive=True) if p.name() == "soffice.bin"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    data_dir = tmp_path_factory.mktemp("faults")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCRENDER_")}
    port = free_port()
    env.update(
        SHORT_TIMEOUTS,
        DOCRENDER_REDIS_URL=f"redis://127.0.0.1:{port}/0",
        DOCRENDER_DATA_DIR=str(data_dir),
        DOCRENDER_WORKERS="2",
        DOCRENDER_API_KEYS="faults:key",
        DOCRENDER_TRANSIENT_RETRIES="5",
        DOCRENDER_BATCH_SIZE=str(ONE_GROUP),
    )
    fault_stack = FaultStack(data_dir, port, env)
    fault_stack.start_redis()
    try:
        fault_stack.start_worker()
        yield fault_stack
    finally:  # also when the worker failed to start: nothing of the stack may outlive it
        fault_stack.stop_worker()
        assert fault_stack.redis is not None
        fault_stack.redis.stop(grace_seconds=10)
    assert not processes_using(data_dir), "processes of the fault stack are still running"
    assert not list((data_dir / "run").iterdir()), "LibreOffice profiles left behind"


@pytest.fixture
def tenant(stack: FaultStack) -> Tenant:
    app = create_app(Settings.from_env(stack.env))
    return Tenant(app.test_client(), "key")


@pytest.fixture(scope="module")
def template_bytes(sample_template: bytes) -> bytes:
    return sample_template


def submit_reports(
    tenant: Tenant, template: bytes, documents: list[dict[str, Any]], count: int
) -> tuple[str, list[dict[str, Any]]]:
    template_id = tenant.upload(template).get_json()["id"]
    chosen = [{"data": documents[i % 5]["data"], "name": f"report-{i}"} for i in range(count)]
    response = tenant.submit(template_id, chosen)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"], chosen


def wait_until_done_at_least(tenant: Tenant, job_id: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        progress = tenant.get(f"/v1/jobs/{job_id}").get_json()["progress"]
        if progress["succeeded"] + progress["failed"] >= count:
            return
        assert time.monotonic() < deadline, progress
        time.sleep(0.1)


def assert_every_document_once_and_its_own(
    tenant: Tenant, job_id: str, sent: list[dict[str, Any]]
) -> None:
    job = tenant.wait_for(job_id, timeout=300)
    assert job["status"] == "succeeded", [d["error"] for d in job["documents"] if d["error"]]
    assert job["progress"] == {"total": len(sent), "succeeded": len(sent), "failed": 0}
    for document, data in zip(job["documents"], sent, strict=True):
        text = squash(pdf_text(tenant.get(document["url"]).data))
        assert squash(data["data"]["unit"]) in text, document["name"]  # its own report
        assert text.startswith(squash(data["data"]["title"]))


def test_libreoffice_killed_mid_job(
    stack: FaultStack, tenant: Tenant, template_bytes: bytes, sample_documents: list[dict]
) -> None:
    job_id, sent = submit_reports(tenant, template_bytes, sample_documents, MID_JOB)
    wait_until_done_at_least(tenant, job_id, ONE_GROUP)
    for soffice in stack.soffices():
        soffice.send_signal(signal.SIGKILL)
    assert_every_document_once_and_its_own(tenant, job_id, sent)


def test_hung_libreoffice_is_timed_out_and_replaced(
    stack: FaultStack, tenant: Tenant, template_bytes: bytes, sample_documents: list[dict]
) -> None:
    job_id, sent = submit_reports(tenant, template_bytes, sample_documents, MID_JOB)
    wait_until_done_at_least(tenant, job_id, ONE_GROUP)
    hung = stack.soffices()[0]
    hung.suspend()  # SIGSTOP: it stops answering mid-conversion
    assert_every_document_once_and_its_own(tenant, job_id, sent)
    assert not hung.is_running() or hung.status() == psutil.STATUS_ZOMBIE  # replaced
    # The next job goes through too.
    job_id, sent = submit_reports(tenant, template_bytes, sample_documents, 2)
    assert_every_document_once_and_its_own(tenant, job_id, sent)


def test_worker_process_killed_mid_job(
    stack: FaultStack, tenant: Tenant, template_bytes: bytes, sample_documents: list[dict]
) -> None:
    job_id, sent = submit_reports(tenant, template_bytes, sample_documents, MID_JOB)
    wait_until_done_at_least(tenant, job_id, ONE_GROUP)
    stack.pool_children()[0].send_signal(signal.SIGKILL)
    assert_every_document_once_and_its_own(tenant, job_id, sent)


def test_whole_worker_killed_and_restarted(
    stack: FaultStack, tenant: Tenant, template_bytes: bytes, sample_documents: list[dict]
) -> None:
    job_id, sent = submit_reports(tenant, template_bytes, sample_documents, MID_JOB)
    wait_until_done_at_least(tenant, job_id, ONE_GROUP)
    assert stack.worker is not None
    os.killpg(stack.worker.process.pid, signal.SIGKILL)  # main process, pool and LibreOffice
    stack.worker.process.wait()
    stack.start_worker()
    # Messages the dead worker held come back after the broker's visibility timeout.
    assert_every_document_once_and_its_own(tenant, job_id, sent)


def test_redis_restarted_mid_job(
    stack: FaultStack, tenant: Tenant, template_bytes: bytes, sample_documents: list[dict]
) -> None:
    job_id, sent = submit_reports(tenant, template_bytes, sample_documents, MID_JOB)
    wait_until_done_at_least(tenant, job_id, ONE_GROUP)
    assert stack.redis is not None
    stack.redis.stop(grace_seconds=10)  # SIGTERM: Redis flushes its append-only file
    down = tenant.get(f"/v1/jobs/{job_id}")
    assert down.status_code == 503 and down.headers["Retry-After"]
    assert down.get_json()["error"]["code"] == "service_unavailable"
    stack.start_redis()
    # The accepted job is still there, and finishes.
    assert tenant.get(f"/v1/jobs/{job_id}").status_code == 200
    assert_every_document_once_and_its_own(tenant, job_id, sent)


def test_a_document_that_keeps_killing_its_worker_is_quarantined(
    stack: FaultStack, tenant: Tenant
) -> None:
    template_id = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.submit(template_id, [{"data": {"unit": "致命"}}]).get_json()
    client = redis.Redis.from_url(stack.url, decode_responses=True)
    kills, deadline = 0, time.monotonic() + 240
    while (state := tenant.get(f"/v1/jobs/{job['id']}").get_json())["finished_at"] is None:
        assert time.monotonic() < deadline, state
        record = json.loads(client.hget(f"docrender:job:{job['id']}:docs", "0") or "{}")
        # A delivery holds it (running, and started after our last kill): kill its worker,
        # as if the document crashed it. The fourth delivery must quarantine it by itself:
        # had it not, it would simply succeed and the assertions below fail.
        held = record.get("status") == "running" and record.get("crashes", 0) == kills
        if held and kills < 3:
            for child in stack.pool_children():
                child.send_signal(signal.SIGKILL)
            kills += 1
        time.sleep(0.05)
    assert kills == 3
    assert state["status"] == "failed"
    error = state["documents"][0]["error"]
    assert error["code"] == "quarantined" and "died 3 times" in error["message"]
    # The service still serves: the next job goes through.
    again = tenant.submit(template_id, [{"data": {"unit": "好"}}]).get_json()
    assert tenant.wait_for(again["id"], timeout=180)["status"] == "succeeded"


def test_soak_of_a_thousand_documents_with_recycling(
    stack: FaultStack, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.stop_worker()
    stack.start_worker(DOCRENDER_CONVERTER_RECYCLE_AFTER="100")
    template_id = tenant.upload(make_docx("{{ unit }}", "第 {{ n }} 份")).get_json()["id"]
    documents = [{"data": {"unit": f"單位{i}", "n": i}} for i in range(1000)]
    job = tenant.submit(template_id, documents).get_json()
    started, peak_rss, most_instances, samples = time.monotonic(), 0, 0, []
    while (state := tenant.get(f"/v1/jobs/{job['id']}").get_json())["finished_at"] is None:
        assert time.monotonic() - started < 900, state["progress"]
        soffices = stack.soffices()
        rss = 0
        for process in soffices:
            with contextlib.suppress(psutil.NoSuchProcess):
                rss += process.memory_info().rss
        peak_rss, most_instances = max(peak_rss, rss), max(most_instances, len(soffices))
        samples.append(rss)
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    assert state["status"] == "succeeded", state["progress"]
    assert state["progress"] == {"total": 1000, "succeeded": 1000, "failed": 0}
    # Recycling bounds LibreOffice: never more instances than worker processes (plus one
    # being replaced), and its memory stays bounded.
    assert most_instances <= 3
    assert peak_rss < 1.5 * 1024**3
    profiles = list((stack.data_dir / "run").glob("lo-profile-*"))
    assert len(profiles) <= 2, profiles  # only the live instances' profiles remain
    with capsys.disabled():
        print(
            f"\nsoak: 1000 documents in {elapsed:.0f}s, LibreOffice resident memory peak "
            f"{peak_rss / 2**20:.0f} MiB (2 instances, recycled every 100 conversions), "
            f"median {sorted(samples)[len(samples) // 2] / 2**20:.0f} MiB"
        )


def table_template() -> bytes:
    """A table with a row per item of ``rows``, as docxtpl's documentation writes it."""
    document = docx.Document()
    document.add_paragraph("{{ unit }}")
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "{%tr for r in rows %}"
    table.cell(1, 0).text, table.cell(1, 1).text = "{{ r.a }}", "{{ r.b }}"
    table.cell(2, 0).text = "{%tr endfor %}"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_document_that_hangs_libreoffice_fails_after_two_timeouts(
    stack: FaultStack, tenant: Tenant
) -> None:
    """8,000 table rows take LibreOffice minutes to lay out, past the 10 s conversion timeout:
    that document fails after its second timeout (not six retries later), the one beside it
    in the same job prints."""
    template_id = tenant.upload(table_template()).get_json()["id"]
    heavy = [{"a": f"第{i}行", "b": "數據"} for i in range(8000)]
    job = tenant.submit(
        template_id,
        [{"data": {"unit": "重", "rows": heavy}}, {"data": {"unit": "輕", "rows": heavy[:3]}}],
    ).get_json()
    state = tenant.wait_for(job["id"], timeout=300)
    assert [d["status"] for d in state["documents"]] == ["failed", "succeeded"], state
    error = state["documents"][0]["error"]
    assert error["code"] == "conversion_timed_out" and "2 times" in error["message"]
    client = redis.Redis.from_url(stack.url, decode_responses=True)
    assert json.loads(client.hget(f"docrender:job:{job['id']}:docs", "0") or "{}")["timeouts"] == 2
    assert "輕" in pdf_text(tenant.get(state["documents"][1]["url"]).data)
    # A retry of the job leaves it failed rather than hang LibreOffice again.
    again = tenant.post(f"/v1/jobs/{job['id']}/retry").get_json()
    assert again["status"] == "partial" and again["documents"][0]["status"] == "failed"


def test_worker_processes_and_libreoffice_have_their_memory_limits(
    stack: FaultStack, tenant: Tenant
) -> None:
    """RLIMIT_AS on each pool child (DOCRENDER_WORKER_MEMORY, soft, so its LibreOffice can
    get its own) and each LibreOffice (DOCRENDER_LIBREOFFICE_MEMORY): a runaway costs its own
    process an allocation, and the kernel's OOM killer never has to pick Redis."""
    template_id = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.submit(template_id, [{"data": {"unit": "限"}}]).get_json()
    assert tenant.wait_for(job["id"], timeout=180)["status"] == "succeeded"
    limit = 2 * 1024**3
    children, soffices = stack.pool_children(), stack.soffices()
    assert children and soffices
    for child in children:
        assert child.rlimit(psutil.RLIMIT_AS)[0] == limit
        assert child.memory_info().vms < limit  # room left to work in
    for soffice in soffices:  # another user's (nobody's): read, not asked with prlimit
        limits = Path(f"/proc/{soffice.pid}/limits").read_text().splitlines()
        address_space = next(line for line in limits if line.startswith("Max address space"))
        assert address_space.split()[3:5] == [str(limit), str(limit)], address_space
