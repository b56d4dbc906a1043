"""Links through the real stack, read from the PDFs a user downloads: a rich-text ``url``, a
HYPERLINK field and a link written in the template become clickable /Link annotations with
their own addresses, in documents converted alone and in documents cut from a combined
conversion (each keeps its own links, on its own pages, and none of its neighbours')."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pikepdf
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text, squash
from tests.helpers.processes import worker_log

pytestmark = pytest.mark.usefixtures("worker")


def links(pdf: bytes) -> list[tuple[int, str]]:
    """(page number from 1, address) of every link annotation, in page order."""
    found = []
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, start=1):
            for annotation in page.obj.get("/Annots", []):
                if annotation.get("/Subtype") != "/Link" or "/A" not in annotation:
                    continue
                if annotation.A.get("/S") == "/URI":
                    found.append((number, str(annotation.A.URI)))
    return found


def made(tenant: Tenant, template: bytes, documents: list[dict]) -> tuple[dict, list[bytes]]:
    template_id = tenant.upload(template).get_json()["id"]
    job = tenant.wait_for(tenant.submit(template_id, documents).get_json()["id"])
    assert job["status"] == "succeeded", job
    return job, [tenant.get(document["url"]).data for document in job["documents"]]


def word_link_template() -> bytes:
    """A template with a link as Word writes one (a w:hyperlink naming an external
    relationship, in the Hyperlink character style) on its second page."""
    document = docx.Document()
    document.add_paragraph("單位：{{ unit }}")
    document.add_page_break()
    paragraph = document.add_paragraph("辦事指南：")
    rid = document.part.relate_to("https://www.gov.cn/zhengce/", RT.HYPERLINK, is_external=True)
    paragraph._p.append(
        parse_xml(
            f'<w:hyperlink {nsdecls("w", "r")} r:id="{rid}" w:history="1"><w:r><w:rPr>'
            '<w:rStyle w:val="Hyperlink"/></w:rPr><w:t>中國政府網</w:t></w:r></w:hyperlink>'
        )
    )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_each_documents_rich_text_link_points_where_its_data_says(tenant: Tenant) -> None:
    units = {"甲校": "https://example.org/a?id=1&lang=zh", "乙校": "mailto:office@example.org"}
    documents = [
        {"data": {"unit": unit, "site": {"type": "rich", "runs": [{"text": unit, "url": url}]}}}
        for unit, url in units.items()
    ]
    _, pdfs = made(tenant, make_docx("網站：{{r site }}"), documents)
    for pdf, (unit, url) in zip(pdfs, units.items(), strict=True):
        assert links(pdf) == [(1, url)]
        assert squash(f"網站：{unit}") in squash(pdf_text(pdf))


def test_a_hyperlink_field_in_the_template_is_a_link(tenant: Tenant) -> None:
    field = (
        "<w:p><w:fldSimple w:instr=' HYPERLINK \"https://example.org/guide\" '><w:r>"
        "<w:t>填報說明</w:t></w:r></w:fldSimple></w:p>"
    )
    template = make_docx("單位：{{ unit }}")
    with_field = docx.Document(io.BytesIO(template))
    with_field.element.body.insert(1, parse_xml(field.replace("<w:p>", f"<w:p {nsdecls('w')}>")))
    out = io.BytesIO()
    with_field.save(out)
    _, pdfs = made(tenant, out.getvalue(), [{"data": {"unit": "甲校"}}])
    assert links(pdfs[0]) == [(1, "https://example.org/guide")]
    assert "填報說明" in pdf_text(pdfs[0])


def test_documents_cut_from_one_conversion_each_keep_their_own_links(
    tenant: Tenant, data_dir: Path
) -> None:
    units = ["甲校", "乙校", "丙校", "丁校"]
    job, pdfs = made(tenant, word_link_template(), [{"data": {"unit": u}} for u in units])
    assert f"job {job['id']}: documents [" in worker_log(data_dir).read_text(), "none combined"
    for pdf, unit in zip(pdfs, units, strict=True):
        # One link, on the document's own second page: not its neighbours' four.
        assert links(pdf) == [(2, "https://www.gov.cn/zhengce/")]
        assert squash(f"單位：{unit}") in squash(pdf_text(pdf))
