"""Through the real stack: Flask app -> Redis -> Celery worker -> docxtpl -> unoserver ->
LibreOffice -> PDF, checked the way a user would (pdftotext, pdffonts, the ZIP's names)."""

from __future__ import annotations

import io
import json
import re
import urllib.parse
import uuid
import zipfile
from typing import Any

import docx
import pytest

from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import characters_without_glyph, pdf_fonts, pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")

CN = "一二三四五六七八九十"
FOOTER_LINE = re.compile(r"^.* · 第 \d+ 頁$", re.M)


def report_text(pdf: bytes) -> str:
    """The PDF's text without page footers, squashed: paragraphs that cross a page read on."""
    return squash(FOOTER_LINE.sub("", pdf_text(pdf)))


def expected_passages(data: dict[str, Any]) -> list[str]:
    passages = [data["title"], data["unit"], data["signature"], data["date"], data["subtitle"]]
    passages += data["opening"] + data["closing"] + data["honours"]
    passages += [f"{fact['item']}" for fact in data["facts"]] + [f["value"] for f in data["facts"]]
    for number, section in zip(CN, data["sections"], strict=False):
        passages.append(f"{number}、{section['heading']}")
        passages += section["paragraphs"]
        for point_number, point in zip(CN, section["points"], strict=False):
            passages.append(f"({point_number}){point['heading']}")
            passages += point["paragraphs"]
    return [squash(p) for p in passages if p]


def test_the_five_sample_reports_end_to_end(
    tenant: Tenant, sample_template: bytes, sample_documents: list[dict[str, Any]]
) -> None:
    template = tenant.upload(sample_template, "report.docx").get_json()["id"]
    submitted = tenant.submit(template, sample_documents)
    assert submitted.status_code == 202, submitted.get_json()
    job = tenant.wait_for(submitted.get_json()["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"total": 5, "succeeded": 5, "failed": 0}

    for document, sent in zip(job["documents"], sample_documents, strict=True):
        response = tenant.get(document["url"])
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert urllib.parse.quote(f"{sent['name']}.pdf") in disposition  # RFC 6266 filename*

        text = report_text(response.data)
        missing = [p[:30] for p in expected_passages(sent["data"]) if p not in text]
        assert not missing, f"{sent['name']}: passages not in the PDF: {missing}"

        fonts = pdf_fonts(response.data)
        assert fonts and all(font["emb"] == "yes" for font in fonts), fonts
        assert any("CJK" in font["name"] for font in fonts), fonts
        # Every character has a glyph in the faces the template names: nothing is tofu.
        for family in ("Noto Serif CJK TC", "Noto Sans CJK TC"):
            assert not characters_without_glyph("".join(expected_passages(sent["data"])), family)

    archive = tenant.archive(job["id"])
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        entries = zipped.infolist()
        assert [e.filename for e in entries] == [f"{d['name']}.pdf" for d in sample_documents]
        assert all(e.flag_bits & 0x800 for e in entries), "UTF-8 names flagged"
        # Each entry is its own document (the archive's PDFs in request order).
        for entry, sent in zip(entries, sample_documents, strict=True):
            assert squash(sent["data"]["unit"]) in squash(pdf_text(zipped.read(entry)))


def test_twenty_documents_all_succeed(
    tenant: Tenant, sample_template: bytes, sample_documents: list[dict[str, Any]]
) -> None:
    template = tenant.upload(sample_template).get_json()["id"]
    documents = [sample_documents[i % 5] for i in range(20)]
    job = tenant.wait_for(tenant.submit(template, documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded"] * 20
    assert job["progress"] == {"total": 20, "succeeded": 20, "failed": 0}
    assert job["status"] == "succeeded" and job["finished_at"] >= job["created_at"]
    names = zipfile.ZipFile(io.BytesIO(tenant.archive(job["id"]).data)).namelist()
    assert len(names) == 20 and len(set(names)) == 20  # repeated names got -2, -3...
    assert f"{sample_documents[0]['name']}-4.pdf" in names


def test_markup_characters_in_data_print_literally(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("單位:{{ unit }}")).get_json()["id"]
    job = tenant.wait_for(
        tenant.submit(template, [{"data": {"unit": "A & B <c> 沙灣"}}]).get_json()["id"]
    )
    assert job["status"] == "succeeded", job
    assert "單位:A & B <c> 沙灣" in pdf_text(tenant.get(job["documents"][0]["url"]).data)


def test_a_failing_document_fails_alone(tenant: Tenant) -> None:
    template = tenant.upload(
        make_docx("{{ unit }}", "{%p for h in honours %}", "{{ h }}", "{%p endfor %}")
    ).get_json()["id"]
    documents: list[dict[str, Any]] = [
        {"data": {"unit": "一", "honours": ["甲"]}},
        {"data": {"unit": "二", "honours": 7}},  # not a list: this document cannot render
        {"data": {"unit": "三", "honours": []}},
    ]
    # strict (the default) would refuse the whole job up front; without it, it fails alone.
    refused = tenant.submit(template, documents)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "wrong_shape"
    job = tenant.wait_for(tenant.submit(template, documents, strict=False).get_json()["id"])
    assert job["status"] == "partial"
    assert [d["status"] for d in job["documents"]] == ["succeeded", "failed", "succeeded"]
    error = job["documents"][1]["error"]
    assert error["code"] == "render_failed" and "not iterable" in error["message"]
    failed = tenant.get(f"/v1/jobs/{job['id']}/documents/1")
    assert failed.status_code == 404
    assert failed.get_json()["error"]["code"] == "document_failed"
    archive = zipfile.ZipFile(io.BytesIO(tenant.archive(job["id"]).data))
    assert archive.namelist() == ["一.pdf", "三.pdf"]


def test_docx_format_skips_conversion(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.wait_for(
        tenant.submit(
            template, [{"data": {"unit": "沙灣"}, "name": "報告"}], format="docx"
        ).get_json()["id"]
    )
    response = tenant.get(job["documents"][0]["url"])
    assert response.mimetype.endswith("wordprocessingml.document")
    filled = docx.Document(io.BytesIO(response.data))
    assert [p.text for p in filled.paragraphs] == ["沙灣"]  # filled, not the template


def test_another_tenant_cannot_download_the_files(tenants: tuple[Tenant, Tenant]) -> None:
    owner, other = tenants
    template = owner.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = owner.wait_for(owner.submit(template, [{"data": {"unit": "x"}}]).get_json()["id"])
    assert owner.get(f"/v1/jobs/{job['id']}/documents/0").status_code == 200
    assert other.get(f"/v1/jobs/{job['id']}/documents/0").status_code == 404
    assert other.get(f"/v1/jobs/{job['id']}/archive").status_code == 404


def test_what_a_job_keeps_counts_against_its_tenants_storage(
    tenants: tuple[Tenant, Tenant], settings: Settings
) -> None:
    """Every file the job leaves in storage (its template copy, the workers' PDFs, the archive
    and the merged volume) is counted to its tenant, and to no one else."""
    tenant, other = tenants
    usage = tenant.client.application.extensions["docrender"].usage
    before, other_before = usage.used(tenant.name), usage.used(other.name)
    template = tenant.upload(make_docx(f"{{{{ unit }}}} {uuid.uuid4()}")).get_json()["id"]
    job = tenant.submit(template, [{"data": {"unit": "甲"}}, {"data": {"unit": "乙"}}]).get_json()
    tenant.wait_for(job["id"])
    tenant.merged(job["id"])  # the bundle, built right after the job, is stored too
    files = settings.data_dir / "files"
    kept = [
        files / "templates" / tenant.name / f"{template}.docx",
        *(files / "jobs" / job["id"]).rglob("*"),
    ]
    # Its data too, which Redis keeps as long as the job.
    data = len(json.dumps([{"unit": "甲"}, {"unit": "乙"}], ensure_ascii=False).encode())
    assert usage.used(tenant.name) - before == data + sum(
        p.stat().st_size for p in kept if p.is_file()
    )
    assert usage.used(other.name) == other_before
