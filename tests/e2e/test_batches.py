"""Batches through the real stack: one merged volume, retry, cancel, long polls, and small
jobs served ahead of a running batch."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import Destination

from docrender.i18n import StoredMessage
from docrender.jobs.queue import DocumentQueue, make_celery
from docrender.jobs.store import DocumentStatus, JobStore, NewDocument
from docrender.settings import Settings
from docrender.storage import LocalStorage
from tests.helpers.clients import Tenant, record_job
from tests.helpers.documents import make_docx
from tests.helpers.pdf import renderings

pytestmark = pytest.mark.usefixtures("worker")


def one_pagers(count: int) -> list[dict[str, Any]]:
    return [{"data": {"unit": f"單位{i}"}} for i in range(count)]


def test_merged_volume_has_a_bookmark_per_document_in_request_order(
    tenant: Tenant, sample_template: bytes, sample_documents: list[dict[str, Any]]
) -> None:
    template = tenant.upload(sample_template).get_json()["id"]
    documents = [{"data": sample_documents[i % 5]["data"]} for i in range(30)]
    submitted = tenant.submit(template, documents, name="{{ unit }}-{{ index + 1 }}")
    job = tenant.wait_for(submitted.get_json()["id"])
    assert job["status"] == "succeeded"

    merged = tenant.merged(job["id"])
    assert merged.status_code == 200 and merged.mimetype == "application/pdf"
    volume = PdfReader(io.BytesIO(merged.data))
    names = [d["name"] for d in job["documents"]]
    # Top level: one entry per document (each document's own headings nest under it).
    top_level = [item for item in volume.outline if not isinstance(item, list)]
    assert [item.title for item in top_level] == names
    assert names[:2] == ["西戈壁鎮中心校-1", "沙灣縣第五小學-2"]
    pages = [len(PdfReader(io.BytesIO(tenant.get(d["url"]).data)).pages) for d in job["documents"]]
    assert len(volume.pages) == sum(pages)
    # Each bookmark points at the first page of its document.
    starts = [sum(pages[:i]) for i in range(len(pages))]
    assert [volume.get_destination_page_number(item) for item in top_level] == starts
    # Under it, the document's own headings, pointing into its pages.
    first = PdfReader(io.BytesIO(tenant.get(job["documents"][1]["url"]).data))
    nested = volume.outline[volume.outline.index(top_level[1]) + 1]
    assert [item.title for item in nested if not isinstance(item, list)] == [
        item.title for item in first.outline if not isinstance(item, list)
    ]
    assert isinstance(nested, list) and isinstance(nested[0], Destination)
    assert volume.get_destination_page_number(nested[0]) == starts[1]


def test_the_merged_volume_prints_each_documents_own_pages_with_their_conversions_fonts(
    tenant: Tenant,
    settings: Settings,
    redis_client: Any,
    sample_template: bytes,
    sample_documents: list[dict[str, Any]],
) -> None:
    """The volume takes a document's pages from the combined conversion it was cut from, and
    a document made alone (here one failed, then retried) from its own file: every page
    draws as in the document's own PDF, in request order, while the fonts a conversion's
    documents share are in the volume once, not once per document."""
    store = JobStore(redis_client, 3600)
    template_key = f"templates/{uuid.uuid4().hex}.docx"
    LocalStorage(settings.data_dir / "files").put(template_key, sample_template)
    documents = [NewDocument(f"報告{i}", sample_documents[i % 5]["data"]) for i in range(8)]
    job_id = record_job(store, tenant.name, documents, template_key)
    store.start_document(job_id, 2)
    store.finish_document(
        job_id, 2, DocumentStatus.FAILED, {"code": "render_failed", "message": "injected"}
    )
    DocumentQueue(make_celery(settings), settings).enqueue(job_id, [0, 1, 3, 4, 5, 6, 7])
    assert tenant.wait_for(job_id)["status"] == "partial"
    assert tenant.post(f"/v1/jobs/{job_id}/retry").status_code == 200
    job = tenant.wait_for(job_id)
    assert job["status"] == "succeeded"

    own = [tenant.get(d["url"]).data for d in job["documents"]]
    volume = tenant.merged(job_id).data
    assert renderings(volume) == [page for pdf in own for page in renderings(pdf)]
    assert {pdf[:8] for pdf in own} == {volume[:8]}  # the PDF version LibreOffice wrote
    outline = PdfReader(io.BytesIO(volume)).outline
    assert [i.title for i in outline if not isinstance(i, list)] == [d.name for d in documents]
    # The reports cut from one conversion (here two, of four and three) share its fonts in
    # the volume: it weighs less than their own files together (0.6x here; the 100 sample
    # reports, in conversions of 16: 6 MB against 34).
    assert len(volume) < 0.75 * sum(map(len, own))


def test_names_from_a_pattern_are_safe_and_unique_in_the_zip(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    units = ["沙灣/五小", "沙灣/五小", "二中", "二中"]
    job = tenant.wait_for(
        tenant.submit(
            template, [{"data": {"unit": u}} for u in units], name="{{ unit }}-匯報材料"
        ).get_json()["id"]
    )
    expected = ["沙灣_五小-匯報材料", "沙灣_五小-匯報材料-2", "二中-匯報材料", "二中-匯報材料-2"]
    assert [d["name"] for d in job["documents"]] == expected
    archive = zipfile.ZipFile(io.BytesIO(tenant.archive(job["id"]).data))
    assert archive.namelist() == [f"{name}.pdf" for name in expected]


def test_a_partial_job_is_retried_to_success(
    tenant: Tenant, settings: Settings, redis_client: Any
) -> None:
    # Three documents; two are made to fail as a converter outage would leave them (the
    # failure is injected in the job store; everything after it is the real stack).
    store = JobStore(redis_client, 3600)
    template_key = f"templates/{uuid.uuid4().hex}.docx"
    LocalStorage(settings.data_dir / "files").put(template_key, make_docx("{{ unit }}"))
    documents = [NewDocument(name, {"unit": name}) for name in ("甲", "乙", "丙")]
    job_id = record_job(store, tenant.name, documents, template_key)
    outage: StoredMessage = {
        "code": "converter_unavailable",
        "message": "LibreOffice did not answer",
    }
    for index in (1, 2):
        store.start_document(job_id, index)
        store.finish_document(job_id, index, DocumentStatus.FAILED, outage)
    queue = DocumentQueue(make_celery(settings), settings)
    queue.enqueue(job_id, [0])
    job = tenant.wait_for(job_id)
    assert job["status"] == "partial"
    assert job["progress"] == {"total": 3, "succeeded": 1, "failed": 2}

    retried = tenant.post(f"/v1/jobs/{job_id}/retry")
    assert retried.status_code == 200
    states = [d["status"] for d in retried.get_json()["documents"]]
    assert states[0] == "succeeded" and "failed" not in states
    job = tenant.wait_for(job_id)
    assert job["status"] == "succeeded"
    assert job["progress"] == {"total": 3, "succeeded": 3, "failed": 0}
    merged = tenant.merged(job_id)
    outline = PdfReader(io.BytesIO(merged.data)).outline
    titles = [i.title for i in outline if not isinstance(i, list)]
    assert titles == ["甲", "乙", "丙"]  # rebuilt after the retry, not the one-document volume


def test_cancel_stops_the_queued_documents(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.submit(template, one_pagers(60)).get_json()
    cancelled = tenant.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200
    job = tenant.wait_for(job["id"])
    states = [d["status"] for d in job["documents"]]
    assert job["status"] == "cancelled"
    assert "queued" not in states and "running" not in states
    assert states.count("cancelled") > 0  # 60 documents cannot all be done in a moment
    first_cancelled = states.index("cancelled")
    response = tenant.get(f"/v1/jobs/{job['id']}/documents/{first_cancelled}")
    assert response.status_code == 404


def test_long_poll_answers_when_the_job_finishes(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.submit(template, one_pagers(2)).get_json()
    finished = tenant.get(f"/v1/jobs/{job['id']}?wait=60").get_json()
    assert finished["finished_at"] is not None and finished["status"] == "succeeded"
    assert tenant.get(f"/v1/jobs/{job['id']}?wait=-1").status_code == 400


def test_a_small_job_is_not_queued_behind_a_running_batch(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    batch = tenant.submit(template, one_pagers(80)).get_json()
    single = tenant.submit(template, one_pagers(1)).get_json()
    single = tenant.get(f"/v1/jobs/{single['id']}?wait=60").get_json()
    assert single["status"] == "succeeded"
    # Order of completion: the single document finished while the batch still had work.
    batch_now = tenant.get(f"/v1/jobs/{batch['id']}").get_json()
    assert batch_now["finished_at"] is None
    assert batch_now["progress"]["succeeded"] < 80
    tenant.post(f"/v1/jobs/{batch['id']}/cancel")  # leave the worker free for other tests


def test_a_long_chinese_name_and_a_device_name_extract_from_the_archive(
    tenant: Tenant, tmp_path: Any
) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    units = ["新疆維吾爾自治區昌吉回族自治州阜康市第二中學" * 6, "CON"]  # 132 characters; a device
    job = tenant.wait_for(
        tenant.submit(
            template, [{"data": {"unit": u}} for u in units], name="{{ unit }}"
        ).get_json()["id"]
    )
    archive = zipfile.ZipFile(io.BytesIO(tenant.archive(job["id"]).data))
    archive.extractall(tmp_path)  # ext4 refuses a name over 255 bytes
    extracted = sorted(path.name for path in tmp_path.iterdir())
    assert extracted == sorted([units[0][:80] + ".pdf", "_CON.pdf"])
