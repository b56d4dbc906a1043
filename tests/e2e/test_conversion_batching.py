"""Through the real stack: the documents of a job are converted several to one LibreOffice
load (workers/convert/batching.py), and each one a user downloads is the document it would have been
alone: same pages, same text, its own footer and page numbers, about the same weight."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text, squash
from tests.helpers.processes import worker_log

pytestmark = pytest.mark.usefixtures("worker")


def test_a_jobs_reports_converted_together_read_like_each_converted_alone(
    tenant: Tenant, data_dir: Path, sample_template: bytes, sample_documents: list[dict[str, Any]]
) -> None:
    template = tenant.upload(sample_template, "report.docx").get_json()["id"]
    together = tenant.wait_for(tenant.submit(template, sample_documents).get_json()["id"])
    # One document per job: nothing to combine it with.
    alone = [tenant.wait_for(tenant.submit(template, [sent]).get_json()["id"])
             for sent in sample_documents]  # fmt: skip

    log = worker_log(data_dir).read_text()
    assert f"job {together['id']}: documents [" in log, "no group was converted together"
    assert not any(f"job {job['id']}: documents [" in log for job in alone)
    cuts = [tenant.get(document["url"]).data for document in together["documents"]]
    references = [tenant.get(job["documents"][0]["url"]).data for job in alone]
    # Each carries its own glyphs, not its group's: together they weigh what they weigh alone.
    assert sum(map(len, cuts)) <= 1.1 * sum(map(len, references))
    for cut, reference, sent in zip(cuts, references, sample_documents, strict=True):
        cut_pages = PdfReader(io.BytesIO(cut)).pages
        assert len(cut_pages) == len(PdfReader(io.BytesIO(reference)).pages)
        assert squash(pdf_text(cut)) == squash(pdf_text(reference))
        last = len(cut_pages)
        assert squash(f"{sent['data']['unit']}·第{last}頁") in squash(cut_pages[-1].extract_text())


def test_the_workers_log_lines_name_the_request_tenant_job_and_documents(
    tenant: Tenant, data_dir: Path
) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    submitted = tenant.post(
        "/v1/jobs",
        json={"template": template, "documents": [{"data": {"unit": u}} for u in "甲乙丙"]},
        headers={"X-Request-ID": "trace-batching-1"},
    ).get_json()
    tenant.wait_for(submitted["id"])
    lines = [json.loads(line) for line in worker_log(data_dir).read_text().splitlines()
             if line.startswith("{")]  # fmt: skip
    about_job = [line for line in lines if line.get("job_id") == submitted["id"]]
    assert about_job, "no structured log line names the job"
    for line in about_job:
        assert line["request_id"] == "trace-batching-1"
        assert line["tenant"] == tenant.name
        assert line["service"] == "worker"
        assert set(line["documents"]) <= {0, 1, 2}
