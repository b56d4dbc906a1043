"""A template in Word's Western fonts prints as Word prints it: each Office font is drawn with
its metric-compatible twin (same advance widths), so lines break and pages end in the same
places, and a Consolas block stays monospace. Never with a CJK face."""

from __future__ import annotations

import io
import re
import subprocess

import docx
import pytest
from docx.oxml.ns import qn
from docx.text.run import Run

from tests.helpers.clients import Tenant
from tests.helpers.pdf import pdf_fonts

pytestmark = pytest.mark.usefixtures("worker")

PROSE = (
    "The committee reviewed {{ unit }} on the basis of the annual returns, the inspection "
    "notes and the interviews held with staff, parents and the neighbourhood office; its "
    "findings on teaching, safety and the use of public funds follow in the order of the "
    "questionnaire, each with the evidence it rests on and a recommendation where one is due. "
)
CODE = [
    "def ratio(activities, staff):",
    "    return activities / staff  # per head",
    "iiii",
    "WWWW",
]
OFFICE = {
    "body": "Calibri",
    "heading": "Cambria",
    "sans": "Arial",
    "serif": "Times New Roman",
    "mono": "Courier New",
    "code": "Consolas",
}
TWINS = {
    "Calibri": "Carlito",
    "Cambria": "Caladea",
    "Arial": "Liberation Sans",
    "Times New Roman": "Liberation Serif",
    "Courier New": "Liberation Mono",
    "Consolas": "Liberation Mono",
}


def set_font(run: Run, name: str) -> None:
    fonts = run._r.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), name)


def office_template(fonts: dict[str, str]) -> bytes:
    """A report as Word users write one: body text in the theme's Calibri (Word's default
    document), a Cambria heading, paragraphs in Arial, Times New Roman and Courier New, and
    a Consolas code block. ``fonts`` names the faces (the Office names, or their twins)."""
    document = docx.Document()
    theme_fonts = document.styles.element.find(f".//{qn('w:docDefaults')}//{qn('w:rFonts')}")
    assert theme_fonts is not None  # python-docx's default: the theme's minor font, Calibri
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        theme_fonts.set(qn(attribute), fonts["body"])
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme"):
        theme_fonts.attrib.pop(qn(attribute), None)
    set_font(
        document.add_heading(level=1).add_run("Inspection report: {{ unit }}"), fonts["heading"]
    )
    for _ in range(3):
        document.add_paragraph(PROSE)
    for kind in ("sans", "serif", "mono"):
        set_font(document.add_paragraph().add_run(PROSE), fonts[kind])
    for line in CODE:
        set_font(document.add_paragraph().add_run(line), fonts["code"])
    for _ in range(3):
        document.add_paragraph(PROSE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render(tenant: Tenant, template: bytes) -> bytes:
    template_id = tenant.upload(template).get_json()["id"]
    job = tenant.wait_for(
        tenant.submit(template_id, [{"data": {"unit": "Hami No. 2"}}]).get_json()["id"]
    )
    assert job["status"] == "succeeded", job
    return tenant.get(job["documents"][0]["url"]).data


def lines(pdf: bytes) -> list[str]:
    """Each printed line, page by page: where the lines break."""
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return [line.strip() for line in text.splitlines() if line.strip()]


def words(pdf: bytes) -> list[tuple[str, float, float]]:
    """(word, xMin, xMax) of every word, from pdftotext -bbox."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return [
        (m[3], float(m[1]), float(m[2]))
        for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            html,
        )
    ]


def test_office_fonts_print_with_their_metric_twins_as_word_breaks_them(tenant: Tenant) -> None:
    office = render(tenant, office_template(OFFICE))
    twins = render(tenant, office_template({kind: TWINS[name] for kind, name in OFFICE.items()}))
    # The same lines, in the same places: line breaks and page ends as with the twins named.
    assert lines(office) == lines(twins)
    assert len(lines(office)) > 40
    used = {font["name"].split("+")[-1].split("-")[0] for font in pdf_fonts(office)}
    assert {"Carlito", "Caladea", "LiberationSans", "LiberationSerif", "LiberationMono"} <= used
    assert not any("CJK" in name for name in used), used  # no Latin text in a CJK face


def test_a_consolas_block_stays_monospace(tenant: Tenant) -> None:
    pdf = render(tenant, office_template(OFFICE))
    placed = {
        word: (x_max - x_min) / len(word)
        for word, x_min, x_max in words(pdf)
        if word in ("iiii", "WWWW")
    }
    assert set(placed) == {"iiii", "WWWW"}
    assert placed["iiii"] == pytest.approx(placed["WWWW"], rel=0.01)  # i as wide as W


def test_the_font_report_says_the_twins_are_the_same_style(tenant: Tenant) -> None:
    report = {f["requested"]: f for f in tenant.upload(office_template(OFFICE)).get_json()["fonts"]}
    for name, twin in TWINS.items():
        assert report[name]["used"] == twin, report[name]
        assert report[name]["different_style"] is False, report[name]
