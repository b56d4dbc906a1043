"""Through the real stack: the documents of a job are converted several to one LibreOffice
load (workers/convert/batching.py), and each one a user downloads is the document it would have been
alone: same pages, same text, its own footer and page numbers, about the same weight."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from pypdf import PdfReader

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import glyphs_held_and_drawn, pdf_text, recoverable, squash
from tests.helpers.processes import worker_log

pytestmark = pytest.mark.usefixtures("worker")


def test_a_jobs_reports_converted_together_read_like_each_converted_alone(
    tenant: Tenant, data_dir: Path, sample_template: bytes, sample_documents: list[dict[str, Any]]
) -> None:
    template = tenant.upload(sample_template, "report.docx").get_json()["id"]
    together = tenant.wait_for(tenant.submit(template, sample_documents).get_json()["id"])
    # One document per job: nothing to combine it with.
    alone = [
        tenant.wait_for(tenant.submit(template, [sent]).get_json()["id"])
        for sent in sample_documents
    ]

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
    lines = [
        json.loads(line)
        for line in worker_log(data_dir).read_text().splitlines()
        if line.startswith("{")
    ]
    about_job = [line for line in lines if line.get("job_id") == submitted["id"]]
    assert about_job, "no structured log line names the job"
    for line in about_job:
        assert line["request_id"] == "trace-batching-1"
        assert line["tenant"] == tenant.name
        assert line["service"] == "worker"
        assert set(line["documents"]) <= {0, 1, 2}


def test_no_report_cut_from_a_combined_conversion_carries_another_units_names(
    tenant: Tenant, data_dir: Path
) -> None:
    """A bureau sends each unit its own report: nothing another unit's report prints (its
    names, in ToUnicode maps, glyph names, widths or glyph programs) is in this one."""
    template = tenant.upload(
        make_docx(
            "單位 {{ unit }} Report {{ code }}", "名單 {{ names }}", footer="{{ unit }}·第1頁"
        )
    ).get_json()["id"]
    sent = [
        {"data": {"unit": unit, "code": code, "names": names}}
        for unit, code, names in [
            ("甲校", "A-17", "張三豐李四光"),
            ("乙校", "B-9Q", "王五趙六錢七孫八"),
            ("丙校", "C-3x", "周吳鄭"),
            ("丁校", "D-5z", "馮陳褚衛"),
            ("戊校", "E-8k", "蔣沈韓楊"),
            ("己校", "F-2w", "朱秦尤許"),
        ]
    ]
    job = tenant.wait_for(tenant.submit(template, sent).get_json()["id"])
    assert f"job {job['id']}: documents [" in worker_log(data_dir).read_text()
    pdfs = [tenant.get(document["url"]).data for document in job["documents"]]
    printed = [set(squash(pdf_text(pdf))) for pdf in pdfs]
    for index, pdf in enumerate(pdfs):
        others = set().union(*printed[:index], *printed[index + 1 :]) - printed[index]
        assert set(sent[index - 1]["data"]["names"]) <= others
        assert not recoverable(pdf, "".join(others)), f"report {index} carries others' text"
        for font, held, drawn in glyphs_held_and_drawn(pdf):
            assert held <= drawn, f"report {index}: {font} holds glyphs it does not draw"


def test_each_report_numbers_its_clauses_from_one_when_a_style_numbers_them(
    tenant: Tenant,
) -> None:
    """A clause style based on a numbered style: each report's first clause is 1., not the
    number after the previous report's last (which one shared conversion would print)."""
    document = docx.Document()
    clause = document.styles.add_style("條款", WD_STYLE_TYPE.PARAGRAPH)
    clause.base_style = document.styles["List Number"]
    document.add_paragraph("{{ unit }}")
    for text in ("總體要求", "評選範圍"):
        document.add_paragraph(text, style=clause)
    out = io.BytesIO()
    document.save(out)
    template = tenant.upload(out.getvalue()).get_json()["id"]
    units = ["甲校", "乙校", "丙校", "丁校", "戊校", "己校"]  # enough to make a group
    job = tenant.wait_for(
        tenant.submit(template, [{"data": {"unit": u}} for u in units]).get_json()["id"]
    )
    for document_state in job["documents"]:
        text = pdf_text(tenant.get(document_state["url"]).data)
        assert re.search(r"1\.\s*總體要求", text) and re.search(r"2\.\s*評選範圍", text), text
