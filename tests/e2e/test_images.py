"""Images from the data through the real stack: base64 in JSON and files uploaded with a
multipart job land in the PDF at the size asked for; a corrupt one fails only its document."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from typing import Any

import docx
import pytest
from PIL import Image

from docrender.templates.pictures import EMBED, placed_pictures
from tests.helpers.clients import Tenant
from tests.helpers.documents import (
    floating,
    make_docx,
    picture,
    template_with_pictures,
    with_svg_original,
    with_vml_picture,
)
from tests.helpers.pdf import pdf_text

pytestmark = pytest.mark.usefixtures("worker")


def images_in(pdf: bytes) -> list[dict[str, float]]:
    """pdfimages -list: each image's pixel size and its size on the page in mm."""
    listed = (
        subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
        .stdout.decode()
        .splitlines()[2:]
    )
    found = []
    for line in listed:
        fields = line.split()
        width, height, x_ppi, y_ppi = (
            int(fields[3]),
            int(fields[4]),
            int(fields[12]),
            int(fields[13]),
        )
        found.append(
            {
                "width": width,
                "height": height,
                "width_mm": width / x_ppi * 25.4,
                "height_mm": height / y_ppi * 25.4,
            }
        )
    return found


def test_base64_images_print_at_the_requested_size(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("單位照片：{{ photo }}", "印章：{{ seal }}")).get_json()[
        "id"
    ]
    photo = base64.b64encode(picture("JPEG", (600, 400), (20, 120, 200))).decode()
    seal = base64.b64encode(picture("PNG", (240, 240), (220, 0, 0))).decode()
    good = {
        "photo": {"type": "image", "data": photo, "width": "60mm"},
        "seal": {"type": "image", "data": seal, "width": "3cm", "height": "3cm"},
    }
    corrupt = {
        "photo": {"type": "image", "data": base64.b64encode(b"\x89PNG\r\n broken").decode()},
        "seal": {"type": "image", "data": seal},
    }
    job = tenant.wait_for(
        tenant.submit(template, [{"data": good}, {"data": corrupt}, {"data": good}]).get_json()[
            "id"
        ]
    )
    first, broken, last = job["documents"]
    assert first["status"] == last["status"] == "succeeded"
    assert broken["status"] == "failed"
    assert broken["error"]["code"] == "render_failed"
    assert "The image at photo is not a readable PNG, JPEG or SVG" in broken["error"]["message"]

    found = images_in(tenant.get(first["url"]).data)
    assert len(found) == 2
    photo_image = next(i for i in found if i["width"] == 600)
    seal_image = next(i for i in found if i["width"] == 240)
    assert photo_image["width_mm"] == pytest.approx(60, abs=1)
    assert photo_image["height_mm"] == pytest.approx(40, abs=1)  # proportions kept
    assert seal_image["width_mm"] == pytest.approx(30, abs=1)
    assert "單位照片" in pdf_text(tenant.get(first["url"]).data)


def test_files_uploaded_with_a_multipart_job(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ unit }}", "{{ seal }}")).get_json()["id"]
    rows = [{"unit": "沙灣五小", "seal": {"type": "image", "file": "seal.png", "width": "25mm"}}]
    response = tenant.post(
        "/v1/jobs",
        data={
            "template": template,
            "data": (io.BytesIO(json.dumps(rows, ensure_ascii=False).encode()), "units.json"),
            "files": (io.BytesIO(picture("PNG", (100, 100), (200, 0, 0))), "seal.png"),
        },
    )
    assert response.status_code == 202, response.get_json()
    job = tenant.wait_for(response.get_json()["id"])
    assert job["status"] == "succeeded", job
    [seal] = images_in(tenant.get(job["documents"][0]["url"]).data)
    assert seal["width"] == 100 and seal["width_mm"] == pytest.approx(25, abs=1)


def test_an_image_naming_a_file_not_sent_is_refused_at_once(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("{{ seal }}")).get_json()["id"]
    response = tenant.submit(template, [{"data": {"seal": {"type": "image", "file": "x.png"}}}])
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == [{"document": 0, "file": "x.png"}]


def test_an_svg_stays_vector_in_the_pdf(tenant: Tenant) -> None:
    template = tenant.upload(make_docx("圖表：{{ chart }}")).get_json()["id"]
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100">'
        b'<rect width="200" height="100" fill="#c00000"/>'
        b'<text x="20" y="60" font-size="30" fill="white">CHART-42</text></svg>'
    )
    chart = {"type": "image", "data": base64.b64encode(svg).decode(), "width": "80mm"}
    job = tenant.wait_for(tenant.submit(template, [{"data": {"chart": chart}}]).get_json()["id"])
    assert job["status"] == "succeeded", job
    pdf = tenant.get(job["documents"][0]["url"]).data
    assert images_in(pdf) == []  # not a raster picture...
    assert "CHART-42" in pdf_text(pdf)  # ...but the SVG's own shapes and text


def test_a_templates_dummy_pictures_are_replaced_per_document(tenant: Tenant) -> None:
    """docxtpl's replace_pic in JSON: each unit's seal in the body and the bureau's logo in
    the header replace the designer's dummies, in their frames; a document that names none
    keeps them. A name the template has not, or a value that is no image, is a 422."""
    template = tenant.upload(template_with_pictures()).get_json()["id"]
    assert {"公章", "局徽"} <= set(tenant.get(f"/v1/templates/{template}").get_json()["pictures"])

    def png(size: tuple[int, int]) -> dict[str, str]:
        return {"type": "image", "data": base64.b64encode(picture("PNG", size)).decode()}

    documents: list[dict[str, Any]] = [
        {"data": {"unit": "甲"}, "pictures": {"公章": png((64, 64)), "局徽": png((90, 30))}},
        {"data": {"unit": "乙"}, "pictures": {"公章": png((72, 72))}},
        {"data": {"unit": "丙"}},
    ]
    job = tenant.wait_for(tenant.submit(template, documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded"] * 3, job
    pixels = [
        sorted((i["width"], i["height"]) for i in images_in(tenant.get(d["url"]).data))
        for d in job["documents"]
    ]
    assert pixels[0] == [(40, 40), (64, 64), (90, 30)]  # the table's photo stays
    assert pixels[1] == [(40, 40), (40, 40), (72, 72)]  # the logo stays
    assert pixels[2] == [(40, 40), (40, 40), (40, 40)]
    seal = next(
        i for i in images_in(tenant.get(job["documents"][0]["url"]).data) if i["width"] == 64
    )
    assert abs(seal["width_mm"] - 30) < 1  # the dummy's frame, 30 mm wide
    for pictures, said in (
        ({"印章": png((8, 8))}, "its pictures are: "),
        ({"公章": {"type": "docx", "file": "seal.docx"}}, "needs an image value"),
    ):
        refused = tenant.submit(template, [{"data": {"unit": "丁"}, "pictures": pictures}])
        assert refused.status_code == 422 and said in refused.get_json()["error"]["message"]


def test_a_templates_dummy_seal_is_replaced_by_an_svg_that_stays_vector(tenant: Tenant) -> None:
    """A seal drawn as an SVG replaces the dummy: each document prints its own (its text in
    the PDF, no raster image left in the seal's place); the dummy photo and logo stay
    pictures. (The frame kept: tests/workers/fill/test_pictures.py.)"""
    template = tenant.upload(template_with_pictures()).get_json()["id"]

    def seal(text: str) -> dict[str, str]:
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200">'
            '<circle cx="100" cy="100" r="90" fill="none" stroke="#c00000" stroke-width="8"/>'
            f'<text x="30" y="110" font-size="28" fill="#c00000">{text}</text></svg>'
        )
        return {"type": "image", "data": base64.b64encode(svg.encode()).decode()}

    documents = [
        {"data": {"unit": unit}, "pictures": {"公章": seal(text)}}
        for unit, text in (("甲", "SEAL-JIA"), ("乙", "SEAL-YI"))
    ]
    job = tenant.wait_for(tenant.submit(template, documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded"] * 2, job
    for document, own, other in zip(
        job["documents"], ("SEAL-JIA", "SEAL-YI"), ("SEAL-YI", "SEAL-JIA"), strict=True
    ):
        pdf = tenant.get(document["url"]).data
        text = pdf_text(pdf)
        assert own in text and other not in text
        assert sorted((i["width"], i["height"]) for i in images_in(pdf)) == [(40, 40)] * 2


def test_a_dummy_word_inserted_from_an_svg_is_replaced(tenant: Tenant) -> None:
    """A designer who inserted the dummy seal in Word from an SVG file: Word keeps a PNG and
    the SVG, LibreOffice prints the SVG. The seal sent replaces both; a document that sends
    none prints the dummy."""
    template = tenant.upload(with_svg_original(template_with_pictures(), "公章"))
    seal = {"type": "image", "data": base64.b64encode(picture("PNG", (64, 64))).decode()}
    documents: list[dict[str, Any]] = [
        {"data": {"unit": "甲"}, "pictures": {"公章": seal}},
        {"data": {"unit": "乙"}},
    ]
    job = tenant.wait_for(tenant.submit(template.get_json()["id"], documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded"] * 2, job
    replaced, kept = (tenant.get(d["url"]).data for d in job["documents"])
    assert "DUMMY-SEAL" not in pdf_text(replaced)
    assert sorted((i["width"], i["height"]) for i in images_in(replaced)) == [
        (40, 40),
        (40, 40),
        (64, 64),
    ]
    assert "DUMMY-SEAL" in pdf_text(kept)
    # As a DOCX, the file Word opens: the seal's blip holds the new picture, no SVG beside it.
    as_docx = tenant.wait_for(
        tenant.submit(template.get_json()["id"], documents[:1], format="docx").get_json()["id"]
    )
    made = docx.Document(io.BytesIO(tenant.get(as_docx["documents"][0]["url"]).data))
    seal_placed = next(p for p in placed_pictures(made) if "公章" in p.names)
    assert "svgBlip" not in seal_placed.blip.xml
    blob = seal_placed.part.rels[seal_placed.blip.get(EMBED)].target_part.blob
    assert Image.open(io.BytesIO(blob)).size == (64, 64)


def test_a_floating_dummy_seal_is_replaced(tenant: Tenant) -> None:
    """A seal laid over the signature floats (Word's wp:anchor): replaced as an inline one."""
    template = tenant.upload(floating(template_with_pictures(), "公章")).get_json()["id"]
    seal = {"type": "image", "data": base64.b64encode(picture("PNG", (64, 64))).decode()}
    job = tenant.wait_for(
        tenant.submit(template, [{"data": {"unit": "甲"}, "pictures": {"公章": seal}}]).get_json()[
            "id"
        ]
    )
    assert job["documents"][0]["status"] == "succeeded", job
    pdf = tenant.get(job["documents"][0]["url"]).data
    assert sorted((i["width"], i["height"]) for i in images_in(pdf)) == [
        (40, 40),
        (40, 40),
        (64, 64),
    ]


def test_a_header_picture_written_in_vml_is_replaced(tenant: Tenant) -> None:
    """A picture watermark, or a header picture from an older Word, is VML: found by its alt
    text and replaced as a DrawingML picture is."""
    template = tenant.upload(with_vml_picture(template_with_pictures(), "浮水印"))
    template_id = template.get_json()["id"]
    assert "浮水印" in tenant.get(f"/v1/templates/{template_id}").get_json()["pictures"]
    mark = {"type": "image", "data": base64.b64encode(picture("PNG", (50, 25))).decode()}
    documents: list[dict[str, Any]] = [
        {"data": {"unit": "甲"}, "pictures": {"浮水印": mark}},
        {"data": {"unit": "乙"}},
    ]
    job = tenant.wait_for(tenant.submit(template_id, documents).get_json()["id"])
    assert [d["status"] for d in job["documents"]] == ["succeeded"] * 2, job
    replaced, kept = (
        sorted((i["width"], i["height"]) for i in images_in(tenant.get(d["url"]).data))
        for d in job["documents"]
    )
    assert replaced == [(40, 40), (40, 40), (40, 40), (50, 25)]
    assert kept == [(30, 30), (40, 40), (40, 40), (40, 40)]


def test_documents_of_one_job_each_print_their_own_pictures(tenant: Tenant) -> None:
    """Each document's images are its own, however the job's documents are grouped for
    conversion: pictures added per document share part names (media/image4.png) and differ,
    so documents whose pictures differ are never converted together."""
    template = tenant.upload(make_docx("{{ unit }}", "{{ photo }}")).get_json()["id"]
    sizes = [(30, 60), (50, 20), (70, 70), (20, 90)]
    documents = [
        {
            "data": {
                "unit": f"單位{n}",
                "photo": {"type": "image", "data": base64.b64encode(picture("PNG", size)).decode()},
            }
        }
        for n, size in enumerate(sizes)
    ]
    job = tenant.wait_for(tenant.submit(template, documents).get_json()["id"])
    printed = [
        [(i["width"], i["height"]) for i in images_in(tenant.get(d["url"]).data)]
        for d in job["documents"]
    ]
    assert printed == [[size] for size in sizes]
