"""A finished job is one whose every file can be downloaded, through the real stack: the job
finishes only after its archive and merged volume are stored, and an end whose task was lost is
finished by the workers' sweeper (DOCRENDER_END_GRACE, 3 s in the test stack)."""

from __future__ import annotations

import io
import zipfile

import pikepdf
import pytest
import redis

from docrender.jobs.store import DocumentStatus, JobStore, NewDocument
from docrender.settings import Settings
from docrender.storage import job_document_key, storage_from_settings
from docrender.tenants.usage import Usage
from tests.helpers.clients import Tenant, record_job, upload

pytestmark = pytest.mark.usefixtures("worker")


def test_the_files_of_a_finished_job_download_the_moment_it_finishes(tenant: Tenant) -> None:
    """What a client does (the README's walk-through): wait for the job, then download its
    archive and merged volume at once. Every try answers 200, never 409."""
    template = upload(tenant, "單位：{{ unit }}")
    for attempt in range(4):
        units = [f"甲{attempt}", f"乙{attempt}", f"丙{attempt}"]
        job_id = tenant.submit(template, [{"data": {"unit": u}} for u in units]).get_json()["id"]
        job = tenant.get(f"/v1/jobs/{job_id}?wait=60").get_json()
        assert job["finished_at"] is not None and job["status"] == "succeeded"
        archive = tenant.get(f"/v1/jobs/{job_id}/archive")
        merged = tenant.get(f"/v1/jobs/{job_id}/merged")
        assert (archive.status_code, merged.status_code) == (200, 200), attempt
        with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
            assert len(zipped.namelist()) == 3
        assert len(pikepdf.open(io.BytesIO(merged.data)).pages) == 3


def one_page_pdf(text: str) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Title"] = text
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_a_job_whose_end_task_was_lost_is_finished_by_the_sweeper(
    tenant: Tenant, settings: Settings, redis_client: redis.Redis
) -> None:
    """Its documents made and recorded, but no end task ever sent (a worker died between the
    two, or the broker refused it): the running workers find the end still unhandled past the
    grace, send it again, and the job finishes with its files."""
    store = JobStore(redis_client, 3600)
    job_id = record_job(store, tenant.name, [NewDocument("一", {}), NewDocument("二", {})])
    storage = storage_from_settings(settings, Usage(redis_client, settings.tenant_storage_bytes))
    for index in range(2):
        storage.put(job_document_key(job_id, index, "pdf"), one_page_pdf(str(index)))
        store.start_document(job_id, index)
        store.finish_document(job_id, index, DocumentStatus.SUCCEEDED)  # and nothing sent
    assert tenant.get(f"/v1/jobs/{job_id}").get_json()["finished_at"] is None

    job = tenant.wait_for(job_id, timeout=60)
    assert job["status"] == "succeeded"
    archive = tenant.get(f"/v1/jobs/{job_id}/archive")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        assert sorted(zipped.namelist()) == ["一.pdf", "二.pdf"]
    merged = tenant.get(f"/v1/jobs/{job_id}/merged")
    assert len(pikepdf.open(io.BytesIO(merged.data)).pages) == 2
    assert redis_client.zscore(JobStore.ENDINGS, job_id) is None  # handled, once
