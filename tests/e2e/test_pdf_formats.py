"""PDF/A and PDF options through the real stack, checked in the files a user downloads."""

from __future__ import annotations

import io
import json
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_fonts, pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")
GONGWEN = PROJECT_ROOT / "templates" / "gongwen.docx"


def gongwen_job(tenant: Tenant, count: int = 1, **options: object) -> tuple[dict, list[bytes]]:
    template = tenant.upload(GONGWEN.read_bytes(), "gongwen.docx").get_json()["id"]
    data = json.loads((PROJECT_ROOT / "templates" / "gongwen-job.json").read_text())
    documents = [{"data": data["documents"][0]["data"], "name": f"通知-{i}"} for i in range(count)]
    submitted = tenant.submit(template, documents, **options)
    assert submitted.status_code == 202, submitted.get_json()
    job = tenant.wait_for(submitted.get_json()["id"])
    assert job["status"] == "succeeded", job
    return job, [tenant.get(doc["url"]).data for doc in job["documents"]]


def pdfa_identification(pdf: bytes) -> tuple[str | None, str | None]:
    """(part, conformance) from the PDF's XMP metadata, as PDF/A validators read them."""
    metadata = PdfReader(io.BytesIO(pdf)).xmp_metadata
    if metadata is None:
        return None, None
    xml = metadata.rdf_root.toxml()
    part = xml.split("pdfaid:part>")[1].split("<")[0] if "pdfaid:part>" in xml else None
    conformance = (
        xml.split("pdfaid:conformance>")[1].split("<")[0] if "pdfaid:conformance>" in xml else None
    )
    return part, conformance


def test_pdfa_documents_carry_the_pdfa_2b_identification_and_embed_every_font(
    tenant: Tenant,
) -> None:
    job, pdfs = gongwen_job(tenant, count=3, format="pdfa")  # several: none may lose it
    assert job["format"] == "pdfa"
    response = tenant.get(job["documents"][0]["url"])
    assert response.mimetype == "application/pdf"
    assert ".pdf" in response.headers["Content-Disposition"]
    for pdf in pdfs:
        assert pdfa_identification(pdf) == ("2", "B")
        fonts = pdf_fonts(pdf)
        assert fonts and all(font["emb"] == "yes" for font in fonts)
        assert squash("關於開展民族團結進步創建示範單位評選工作的通知") in squash(pdf_text(pdf))
    # An ordinary PDF is not a PDF/A.
    assert pdfa_identification(gongwen_job(tenant)[1][0]) == (None, None)


def structure(pdf: bytes) -> dict[str, Any]:
    """What a screen reader and a PDF/UA checker look at first."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        root = document.Root
        preferences: Any = root.get("/ViewerPreferences", {})
        with document.open_metadata() as xmp:
            ua_part = xmp.get("pdfuaid:part")
        return {
            "tagged": "/StructTreeRoot" in root and bool(root.MarkInfo.Marked),
            "lang": str(root.get("/Lang", "")),
            "shows_title": bool(preferences.get("/DisplayDocTitle", False)),
            "title": str(document.docinfo.get("/Title", "")),
            "pdf_ua": ua_part,
        }


def test_every_document_of_a_job_is_tagged_or_untagged_as_asked(tenant: Tenant) -> None:
    """LibreOffice 25.2 tags a PDF when it gets no export options and not when it gets some:
    the choice is said on every conversion, alone or combined, so a job never mixes them."""
    _, plain = gongwen_job(tenant, count=3)  # three of a job: converted together
    _, tagged = gongwen_job(tenant, count=3, pdf_options={"tagged": True})
    _, accessible = gongwen_job(tenant, count=2, pdf_options={"accessible": True})
    assert [structure(pdf)["tagged"] for pdf in plain] == [False] * 3
    assert [structure(pdf)["tagged"] for pdf in tagged] == [True] * 3
    for pdf in accessible:
        said = structure(pdf)
        assert said["tagged"] and said["pdf_ua"] == "1", said
        # The title a reader shows instead of the file name, and the language it reads in.
        assert said["shows_title"] and said["title"], said
        assert said["lang"].startswith("zh"), said
        assert squash("關於開展民族團結進步創建示範單位評選工作的通知") in squash(pdf_text(pdf))


def test_an_accessible_pdf_has_a_title_and_reads_as_chinese_from_an_english_template(
    tenant: Tenant,
) -> None:
    """A template made in English Word, without a title: PDF/UA still needs both."""
    template = tenant.upload(make_docx("單位：{{ unit }}", "Report of {{ unit }}")).get_json()["id"]
    documents = [{"data": {"unit": "沙灣五小"}, "name": "沙灣五小-匯報材料"}]
    job = tenant.wait_for(
        tenant.submit(template, documents, pdf_options={"accessible": True}).get_json()["id"]
    )
    said = structure(tenant.get(job["documents"][0]["url"]).data)
    assert said["tagged"] and said["pdf_ua"] == "1", said
    assert said["title"] == "沙灣五小-匯報材料" and said["shows_title"], said
    assert said["lang"] == "zh-TW", said  # the forms it printed with: Traditional


def test_tagged_pdf_and_bookmarks_on_request(tenant: Tenant) -> None:
    plain = PdfReader(io.BytesIO(gongwen_job(tenant)[1][0]))
    tagged = PdfReader(io.BytesIO(gongwen_job(tenant, pdf_options={"tagged": True})[1][0]))
    bare = PdfReader(io.BytesIO(gongwen_job(tenant, pdf_options={"bookmarks": False})[1][0]))
    tagged_root: Any = tagged.trailer["/Root"]  # pypdf types a dictionary's values loosely
    assert "/StructTreeRoot" in tagged_root
    assert tagged_root["/MarkInfo"]["/Marked"]
    assert "/StructTreeRoot" not in plain.root_object
    # Bookmarks from the headings (一、總體要求 ...) by default, none when turned off.
    assert any(
        "總體要求" in (item.title or "") for item in plain.outline if not isinstance(item, list)
    )
    assert bare.outline == []


def test_unknown_pdf_options_are_refused(tenant: Tenant) -> None:
    template = tenant.upload(GONGWEN.read_bytes(), "gongwen.docx").get_json()["id"]
    response = tenant.submit(template, [{"data": {}}], pdf_options={"tagged": "yes"}, strict=False)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
