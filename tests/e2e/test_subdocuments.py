"""Annexes (附件) kept as a .docx of their own, uploaded with the job and printed with
{{p annex }}: their headings, tables and images come through the real stack into the PDF."""

from __future__ import annotations

import io
import json
import subprocess

import docx
import pytest
from docx.shared import Mm
from PIL import Image
from werkzeug.test import TestResponse

from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx, tamper
from tests.helpers.pdf import pdf_fonts, pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")


def annex() -> bytes:
    """An annex as a clerk writes one in Word: a heading, a table and a picture."""
    document = docx.Document()
    document.add_heading("附件1 報送材料清單", level=1)
    table = document.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    for row, (name, copies) in zip(
        table.rows, [("材料名稱", "份數"), ("申報表", "一份"), ("事跡材料", "三份")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = name, copies
    picture = io.BytesIO()
    Image.new("RGB", (120, 80), (0, 120, 200)).save(picture, "PNG")
    picture.seek(0)
    document.add_picture(picture, width=Mm(30))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def submit(tenant: Tenant, rows: list[dict], files: list[tuple[bytes, str]]) -> TestResponse:
    template = tenant.upload(make_docx("關於{{ unit }}的通知", "正文。", "{{p annex }}")).get_json()
    return tenant.post(
        "/v1/jobs",
        data={
            "template": template["id"],
            "data": (io.BytesIO(json.dumps(rows, ensure_ascii=False).encode()), "units.json"),
            "files": [(io.BytesIO(content), name) for content, name in files],
        },
    )


def test_an_annex_brings_its_heading_table_and_picture(tenant: Tenant) -> None:
    rows = [
        {"unit": unit, "annex": {"type": "docx", "file": "annex.docx"}}
        for unit in ("沙灣縣第二中學", "阜康市第二中學")
    ]
    response = submit(tenant, rows, [(annex(), "annex.docx")])
    assert response.status_code == 202, response.get_json()
    job = tenant.wait_for(response.get_json()["id"])
    assert job["status"] == "succeeded", job
    for document, unit in zip(job["documents"], ("沙灣縣第二中學", "阜康市第二中學"), strict=True):
        pdf = tenant.get(document["url"]).data
        text = squash(pdf_text(pdf))
        assert f"關於{unit}的通知" in text
        assert "附件1報送材料清單" in text
        assert all(
            cell in text for cell in ("材料名稱", "份數", "申報表", "一份", "事跡材料", "三份")
        )
        images = (
            subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
            .stdout.decode()
            .splitlines()[2:]
        )
        assert len(images) == 1 and images[0].split()[3:5] == ["120", "80"]
        # The heading keeps its style: Word's Heading 1 is bold.
        assert any("Bold" in font["name"] for font in pdf_fonts(pdf)), pdf_fonts(pdf)


def test_an_unsafe_or_missing_annex_is_refused_at_submission(tenant: Tenant) -> None:
    macro = tamper(extra={"word/vbaProject.bin": b"\x00" * 10})
    row = [{"unit": "甲", "annex": {"type": "docx", "file": "annex.docx"}}]
    refused = submit(tenant, row, [(macro, "annex.docx")])
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "unsafe_template"
    assert "annex.docx" in refused.get_json()["error"]["message"]
    missing = submit(tenant, row, [])
    assert missing.status_code == 422 and "annex.docx" in str(missing.get_json()["error"])
