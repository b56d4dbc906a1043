"""A template's dummy pictures replaced from a document's data (docxtpl's replace_pic in
JSON): by the names Word gives them, in the body, a table and the header, each keeping its
place and size."""

from __future__ import annotations

import base64
import io

import docx
import pytest
from PIL import Image

from docrender.errors import RenderFailed
from docrender.templates.pictures import EMBED, picture_names, placed_pictures
from tests.helpers.documents import picture, template_with_pictures, with_svg_original
from workers.fill.images import ImageLimits
from workers.fill.pictures import replace_pictures
from workers.fill.render import docx_bytes, fill_template


def image(size: tuple[int, int], colour: tuple[int, int, int]) -> dict[str, str]:
    return {"type": "image", "data": base64.b64encode(picture("PNG", size, colour)).decode()}


def shown(document: docx.document.Document) -> dict[str, tuple[int, int]]:
    """Each picture by its alt text (else its name), and the pixel size it now shows."""
    sizes = {}
    for placed in placed_pictures(document):
        blob = placed.part.rels[placed.blip.get(EMBED)].target_part.blob
        alt = sorted(name for name in placed.names if not name.isascii())  # 公章, 局徽
        with Image.open(io.BytesIO(blob)) as opened:
            sizes[alt[0] if alt else "the table's photo"] = opened.size
    return sizes


def test_pictures_are_replaced_by_alt_text_and_file_name_keeping_their_frames() -> None:
    template = template_with_pictures()
    assert {"公章", "局徽", "image2.png"} <= set(picture_names(docx.Document(io.BytesIO(template))))
    document = fill_template(template, {"unit": "沙灣縣"})
    extents = [(inline.width, inline.height) for inline in document.inline_shapes]
    replace_pictures(
        document,
        {"公章": image((64, 64), (200, 0, 0)), "局徽": image((80, 40), (0, 0, 0))},
        lambda name: None,
        ImageLimits(),
    )
    saved = docx.Document(io.BytesIO(docx_bytes(document)))
    sizes = shown(saved)
    assert sizes["公章"] == (64, 64) and sizes["局徽"] == (80, 40)
    assert sizes["the table's photo"] == (40, 40)  # not named: it stays
    frames = [(inline.width, inline.height) for inline in saved.inline_shapes]
    assert frames == extents  # the frames stay
    header = saved.sections[0].header
    assert header.part.rels  # the header's logo was swapped in the header's own part
    assert len(placed_pictures(saved)) == 3


SEAL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    b'<circle cx="50" cy="50" r="45" fill="none" stroke="#c00000" stroke-width="6"/></svg>'
)
# An SVG LibreOffice would fetch something for: refused as a data image's is.
OUTSIDE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    b'<image xlink:href="http://example.com/seal.png" width="10" height="10"/></svg>'
)


def test_a_picture_replaced_by_an_svg_gets_the_svg_itself_in_its_frame() -> None:
    document = fill_template(template_with_pictures(), {"unit": "甲"})
    extents = [(inline.width, inline.height) for inline in document.inline_shapes]
    svg = {"type": "image", "data": base64.b64encode(SEAL_SVG).decode()}
    replace_pictures(document, {"公章": svg}, lambda name: None, ImageLimits())
    saved = docx.Document(io.BytesIO(docx_bytes(document)))
    seal = next(placed for placed in placed_pictures(saved) if "公章" in placed.names)
    part = seal.part.rels[seal.blip.get(EMBED)].target_part
    assert (part.content_type, part.blob) == ("image/svg+xml", SEAL_SVG)
    assert part.partname.endswith(".svg")
    assert [(inline.width, inline.height) for inline in saved.inline_shapes] == extents


def test_a_picture_word_inserted_from_an_svg_is_replaced_svg_and_all() -> None:
    """Word keeps such a picture twice, a PNG in the blip and the SVG in its svgBlip
    extension, and LibreOffice prints the SVG: replacing the PNG alone printed the dummy."""
    template = with_svg_original(template_with_pictures(), "公章")
    assert "dummy-seal.svg" in picture_names(docx.Document(io.BytesIO(template)))
    document = fill_template(template, {"unit": "甲"})
    replace_pictures(
        document, {"dummy-seal.svg": image((64, 64), (0, 0, 0))}, lambda name: None, ImageLimits()
    )
    saved = docx.Document(io.BytesIO(docx_bytes(document)))
    assert shown(saved)["公章"] == (64, 64)
    seal = next(placed for placed in placed_pictures(saved) if "公章" in placed.names)
    assert "svgBlip" not in seal.blip.xml  # nothing left for LibreOffice to print instead


@pytest.mark.parametrize(
    ("pictures", "said"),
    [
        ({"印章": {"type": "image", "data": ""}}, "no picture '印章'; its pictures are: "),
        (
            {"公章": {"type": "image", "data": base64.b64encode(OUTSIDE_SVG).decode()}},
            "refers to something outside itself",
        ),
        ({"公章": {"type": "image", "file": "seal.png"}}, "was not uploaded"),
    ],
)
def test_a_picture_that_cannot_be_replaced_fails_its_document_saying_why(
    pictures: dict, said: str
) -> None:
    document = fill_template(template_with_pictures(), {"unit": "甲"})
    with pytest.raises(RenderFailed, match=said):
        replace_pictures(document, pictures, lambda name: None, ImageLimits())
