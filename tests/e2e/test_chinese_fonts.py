"""Chinese documents through the real stack look as their author made them: the 公文 fonts a
Linux server lacks are drawn with faces of the same style, and the glyph forms follow the
text's language (checked by rendering, since pdffonts names every Noto CJK face "jp")."""

from __future__ import annotations

import io
import json
import re
import subprocess

import docx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant
from tests.helpers.pdf import pdf_fonts, pdf_text, squash

pytestmark = pytest.mark.usefixtures("worker")
GONGWEN = PROJECT_ROOT / "templates" / "gongwen.docx"
GONGWEN_JOB = PROJECT_ROOT / "templates" / "gongwen-job.json"
# Characters whose Simplified and Traditional (and Japanese) forms differ.
TELLING = "骨直令角微"


def test_the_gongwen_sample_uses_a_face_of_each_style(tenant: Tenant) -> None:
    upload = tenant.upload(GONGWEN.read_bytes(), "gongwen.docx").get_json()
    report = {font["requested"]: font for font in upload["fonts"]}
    assert report["仿宋_GB2312"]["used"] == "cwTeXFangSong"
    assert report["楷体_GB2312"]["used"] == "AR PL UKai TW"  # the template is zh-TW
    assert report["方正小标宋简体"]["used"] == "Noto Serif CJK TC Bold"
    assert report["黑体"]["used"] == "Noto Sans CJK TC"
    for name in ("仿宋_GB2312", "楷体_GB2312", "方正小标宋简体", "黑体"):
        assert report[name]["exact"] is False and report[name]["different_style"] is False

    data = json.loads(GONGWEN_JOB.read_text())["documents"][0]["data"]
    job = tenant.wait_for(tenant.submit(upload["id"], [{"data": data}]).get_json()["id"])
    assert job["status"] == "succeeded", job
    pdf = tenant.get(job["documents"][0]["url"]).data

    faces = {font["name"].split("+", 1)[-1] for font in pdf_fonts(pdf)}
    assert "cwTeXFangSong" in faces  # body: FangSong
    assert "UKaiTW" in faces  # 楷体 headings: Kai, Traditional forms
    assert any(f.startswith("NotoSerifCJK") and "-Bold" in f for f in faces)  # 小标宋: bold serif
    assert any(f.startswith("NotoSansCJK") for f in faces)  # 黑体 headings: sans
    assert not any("DejaVu" in face for face in faces)  # nothing fell back to a Latin face
    text = squash(pdf_text(pdf))
    for passage in (data["title"], data["doc_number"], *data["opening"]):
        assert squash(passage) in text


def one_paragraph(font: str, language: str | None) -> bytes:
    """``TELLING`` in ``font``; ``language`` on the run, or (None) nowhere in the document."""
    document = docx.Document()
    run = document.add_paragraph().add_run(TELLING * 4)
    properties = run._r.get_or_add_rPr()
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attribute), font)
    properties.append(fonts)
    if language is not None:
        lang = OxmlElement("w:lang")
        lang.set(qn("w:eastAsia"), language)
        properties.append(lang)
    else:  # python-docx's default template declares zh-CN in its defaults
        for lang in document.styles.element.iter(qn("w:lang")):
            lang.attrib.pop(qn("w:eastAsia"), None)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rendered(tenant: Tenant, template: bytes, **options: str) -> bytes:
    """The first page as a grey-scale bitmap (PGM bytes)."""
    template_id = tenant.upload(template).get_json()["id"]
    submitted = tenant.submit(template_id, [{"data": {}}], **options)
    assert submitted.status_code == 202, submitted.get_json()
    job = tenant.wait_for(submitted.get_json()["id"])
    pdf = tenant.get(job["documents"][0]["url"]).data
    return subprocess.run(
        ["pdftoppm", "-r", "100", "-gray", "-f", "1", "-l", "1", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout


def test_glyph_forms_follow_the_language_never_the_japanese_face(tenant: Tenant) -> None:
    simplified = rendered(tenant, one_paragraph("宋体", "zh-CN"))
    traditional = rendered(tenant, one_paragraph("宋体", "zh-TW"))
    # References: the intended faces named directly.
    assert simplified == rendered(tenant, one_paragraph("Noto Serif CJK SC", "zh-CN"))
    assert traditional == rendered(tenant, one_paragraph("Noto Serif CJK TC", "zh-TW"))
    assert simplified != traditional  # the forms really differ for these characters
    japanese = rendered(tenant, one_paragraph("Noto Serif CJK JP", "ja-JP"))
    assert japanese not in (simplified, traditional)


def test_the_gongwen_page_holds_22_lines_of_28_characters(tenant: Tenant) -> None:
    template = tenant.upload(GONGWEN.read_bytes(), "gongwen.docx").get_json()["id"]
    data = json.loads(GONGWEN_JOB.read_text())["documents"][0]["data"]
    sentence = "為深入貫徹落實鑄牢中華民族共同體意識的工作要求進一步鞏固和發展平等團結互助和諧"
    data["opening"] = [sentence * 8] * 4  # body text well past the first page
    job = tenant.wait_for(tenant.submit(template, [{"data": data}]).get_json()["id"])
    pdf = tenant.get(job["documents"][0]["url"]).data
    page_two = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    # The text lines, not the page number at the foot ("— 2 —").
    lines = [
        line
        for line in page_two.splitlines()
        if line.strip() and not re.fullmatch(r"—\s*\d+\s*—", line.strip())
    ]
    assert len(lines) == 22  # GB/T 9704: 22 lines a page
    assert max(len(line) for line in lines) == 28  # of 28 characters
    assert sum(len(line) == 28 for line in lines) >= 15


def test_the_job_language_picks_the_forms_where_the_template_says_none(tenant: Tenant) -> None:
    traditional = rendered(tenant, one_paragraph("Noto Serif CJK TC", "zh-TW"))
    simplified = rendered(tenant, one_paragraph("Noto Serif CJK SC", "zh-CN"))
    unmarked = one_paragraph("宋体", None)
    assert rendered(tenant, unmarked, language="zh-Hant") == traditional
    assert rendered(tenant, unmarked, language="zh-Hans") == simplified
    assert rendered(tenant, unmarked) == simplified  # no language anywhere: Simplified


BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


def test_rare_characters_print_and_tofu_is_reported(tenant: Tenant) -> None:
    template = tenant.upload(docx_with("姓名：{{ name }}", "民族文字：{{ native }}")).get_json()[
        "id"
    ]
    printable = {"name": "𠀾小明", "native": "ئۇيغۇرچە قازاقشا"}  # Extension B; Uyghur, Kazakh
    tofu = {"name": "張𠀀", "native": "\U00013000"}  # no installed font has either
    job = tenant.wait_for(
        tenant.submit(template, [{"data": printable}, {"data": tofu}]).get_json()["id"]
    )
    assert job["progress"]["succeeded"] == 2, job
    clean, boxes = job["documents"]

    text = pdf_text(tenant.get(clean["url"]).data).translate(BIDI_CONTROLS)
    assert "𠀾小明" in text and "ئۇيغۇرچە" in text and "قازاقشا" in text
    assert clean["warnings"] == []

    assert [w["code"] for w in boxes["warnings"]] == ["missing_glyphs"]
    assert boxes["warnings"][0]["characters"] == ["𠀀", "\U00013000"]
    assert "U+20000" in boxes["warnings"][0]["message"]


def docx_with(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_gongwen_attachment_table_merges_and_rich_text(tenant: Tenant) -> None:
    upload = tenant.upload(GONGWEN.read_bytes(), "gongwen.docx").get_json()
    data = json.loads(GONGWEN_JOB.read_text())["documents"][0]["data"]
    job = tenant.wait_for(tenant.submit(upload["id"], [{"data": data}]).get_json()["id"])
    pdf = tenant.get(job["documents"][0]["url"]).data
    pages = int(
        subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .split("Pages:")[1]
        .split()[0]
    )
    last = subprocess.run(
        ["pdftotext", "-f", str(pages), "-l", str(pages), "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert squash(last).startswith("附件")  # the attachment starts a page of its own
    table = squash(last).split("備註")[0]
    for group in data["materials"]:
        assert table.count(group["category"]) == 1  # one merged cell per category
        for item in group["items"]:
            assert squash(item["name"]) in squash(last)  # a row per item
    assert "備註：申報材料須加蓋單位公章，逾期不予受理。" in squash(last)
    # The rich text's red run: red pixels on the attachment page.
    image = subprocess.run(
        ["pdftoppm", "-r", "40", "-f", str(pages), "-l", str(pages), "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    assert red_pixels(image) > 20


def red_pixels(ppm: bytes) -> int:
    """Pixels of a binary PPM (P6) that are clearly red."""
    header, _, _ = ppm.partition(b"255\n")
    pixels = ppm[len(header) + 4 :]
    return sum(
        1
        for i in range(0, len(pixels) - 2, 3)
        if pixels[i] > 180 and pixels[i + 1] < 80 and pixels[i + 2] < 80
    )


def fangsong_template(*, language: str | None) -> bytes:
    """One 仿宋_GB2312 paragraph; the document's default language ``language`` (None: none)."""
    document = docx.Document()
    run = document.add_paragraph().add_run("{{ text }}")
    fonts = run._r.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attribute), "仿宋_GB2312")
    for lang in document.styles.element.iter(qn("w:lang")):
        if language is None:
            lang.attrib.pop(qn("w:eastAsia"), None)
        else:
            lang.set(qn("w:eastAsia"), language)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# Simplified 仿宋 is drawn in the Song face (no free FangSong has Simplified glyphs), its SC
# face of the Noto CJK collection (LibreOffice 25.2 names the face the glyphs come from).
SONG = "NotoSerifCJKsc"
TRADITIONAL_TEXT = "為深入貫徹落實鑄牢中華民族共同體意識的工作要求，進一步鞏固和發展民族關係。"
SIMPLIFIED_TEXT = "为深入贯彻落实铸牢中华民族共同体意识的工作要求，进一步巩固和发展民族关系。"


@pytest.mark.parametrize(
    ("template_language", "text", "job_language", "printed", "face"),
    [
        # Nothing says: the text decides, per document.
        (None, TRADITIONAL_TEXT, None, "zh-Hant", "cwTeXFangSong"),
        (None, SIMPLIFIED_TEXT, None, "zh-Hans", SONG),
        # A template made by Simplified Word (zh-CN) with Traditional data, and the other way.
        ("zh-CN", TRADITIONAL_TEXT, None, "zh-Hant", "cwTeXFangSong"),
        ("zh-TW", SIMPLIFIED_TEXT, None, "zh-Hans", SONG),
        # The job's language wins over the text.
        (None, TRADITIONAL_TEXT, "zh-Hans", "zh-Hans", SONG),
    ],
)
def test_without_a_language_the_text_decides_its_forms_and_faces(
    tenant: Tenant,
    template_language: str | None,
    text: str,
    job_language: str | None,
    printed: str,
    face: str,
) -> None:
    template = tenant.upload(fangsong_template(language=template_language)).get_json()["id"]
    options = {"language": job_language} if job_language else {}
    job = tenant.wait_for(
        tenant.submit(template, [{"data": {"text": text}}], **options).get_json()["id"]
    )
    document = job["documents"][0]
    assert document["status"] == "succeeded", document
    assert document["language"] == printed  # the job says which forms were chosen
    pdf = tenant.get(document["url"]).data
    assert squash(pdf_text(pdf)) == text
    assert {font["name"].split("+")[-1].split("-")[0] for font in pdf_fonts(pdf)} == {face}
