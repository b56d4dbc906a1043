"""Images from the data, checked before they go into a document."""

from __future__ import annotations

import base64

import pytest
from docxtpl import InlineImage

from docrender.errors import RenderFailed
from docrender.templates.tags import open_template
from tests.helpers.documents import make_docx, picture
from workers.fill.images import ImageLimits
from workers.fill.render import docx_bytes, fill_template
from workers.fill.values import prepare_values


def image(content: bytes, **extra: str) -> dict[str, str]:
    return {"type": "image", "data": base64.b64encode(content).decode(), **extra}


def embed(
    value: object, limits: ImageLimits | None = None, files: dict[str, bytes] | None = None
) -> object:
    template = open_template(make_docx("{{ photo }}"))
    return prepare_values(template, value, (files or {}).get, limits or ImageLimits(), {})


def test_images_at_any_depth_become_pictures_and_the_rest_stays() -> None:
    data = {"unit": "甲", "staff": [{"photo": image(picture(), width="30mm")}]}
    embedded = embed(data)
    assert embedded["unit"] == "甲"  # type: ignore[index]
    assert isinstance(embedded["staff"][0]["photo"], InlineImage)  # type: ignore[index]


def test_a_filled_document_holds_the_picture() -> None:
    filled = fill_template(make_docx("{{ photo }}"), {"photo": image(picture("JPEG"), width="2cm")})
    assert any(
        part.partname.endswith(".jpg") or part.partname.endswith(".jpeg")
        for part in filled.part.package.parts
    )
    assert docx_bytes(filled)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"type": "image", "data": "not base64!"}, "not valid base64"),
        (image(b"just text"), "not a readable PNG, JPEG or SVG"),
        (image(picture()[:60]), "not a readable PNG, JPEG or SVG"),  # truncated
        (image(picture("GIF")), "is GIF; send PNG, JPEG or SVG"),
        (image(picture(), width="30px"), "write it like '30mm'"),
        (image(picture(), width="0mm"), "more than 0"),
        ({"type": "image", "url": "http://169.254.169.254/x.png"}, "never fetched"),
        ({"type": "image", "file": "seal.png"}, "not uploaded with the job"),
        ({"type": "image"}, "needs its bytes"),
    ],
)
def test_a_bad_image_is_a_clear_error_naming_it(value: object, says: str) -> None:
    with pytest.raises(RenderFailed, match=r"The image at staff\[0\]\.photo") as error:
        embed({"staff": [{"photo": value}]})
    assert says in error.value.message


def test_limits_on_bytes_and_pixels() -> None:
    with pytest.raises(RenderFailed, match="more than the 100 allowed"):
        embed({"photo": image(picture())}, ImageLimits(max_bytes=100))
    with pytest.raises(RenderFailed, match="300x200 pixels"):
        embed({"photo": image(picture())}, ImageLimits(max_pixels=50_000))


def test_an_uploaded_file_is_found_by_name() -> None:
    embedded = embed({"seal": {"type": "image", "file": "seal.png"}}, files={"seal.png": picture()})
    assert isinstance(embedded["seal"], InlineImage)  # type: ignore[index]


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'viewBox="0 0 200 100">{}<rect width="200" height="100" fill="#c00000"/></svg>'
)


def test_an_svg_goes_into_the_document_as_svg() -> None:
    filled = fill_template(make_docx("{{ logo }}"), {"logo": image(SVG.replace(b"{}", b""))})
    parts = [p for p in filled.part.package.iter_parts() if p.partname.endswith(".svg")]
    assert len(parts) == 1 and parts[0].content_type == "image/svg+xml"
    assert parts[0].blob.startswith(b"<svg")
    assert b".svg" in docx_bytes(filled)


@pytest.mark.parametrize(
    ("inside", "says"),
    [
        (b'<image xlink:href="file:///etc/passwd" width="10" height="10"/>', "outside itself"),
        (b'<image href="http://169.254.169.254/x.png" width="10" height="10"/>', "outside itself"),
        (b"<script>alert(1)</script>", "with <script>"),
        (b'<rect style="fill:url(http://x/y)" width="1" height="1"/>', "style refers"),
    ],
)
def test_an_svg_that_reaches_outside_itself_is_refused(inside: bytes, says: str) -> None:
    with pytest.raises(RenderFailed, match=says):
        embed({"logo": image(SVG.replace(b"{}", inside))})


def test_an_svg_with_entities_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
    with pytest.raises(RenderFailed, match="DOCTYPE or entities"):
        embed({"logo": image(bomb)})


def nested_uses(levels: int) -> bytes:
    """Each level draws the one below ten times: 10**levels shapes from a few KB."""
    groups = ['<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, levels + 1):
        uses = "".join(f'<use xlink:href="#l{level - 1}" x="{i}"/>' for i in range(10))
        groups.append(f'<g id="l{level}">{uses}</g>')
    return SVG.replace(
        b"{}", f"<defs>{''.join(groups)}</defs><use xlink:href='#l{levels}'/>".encode()
    )


@pytest.mark.parametrize(
    ("svg", "says"),
    [
        (nested_uses(7), "expand to more than"),
        (
            SVG.replace(b"{}", b'<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g>'),
            "cycle",
        ),
        (SVG.replace(b"{}", b"<g/>" * 10_001), "more than 10000"),
        (
            SVG.replace(b"{}", b'<rect fill="URL( \'http://x/y\' )" width="1" height="1"/>'),
            "style refers",
        ),
        (SVG.replace(b"{}", b"<style>@import 'http://x/y.css';</style>"), "style refers"),
        (SVG.replace(b"{}", b"<style>rect { fill: url(http://x/y) }</style>"), "style refers"),
        (
            SVG.replace(
                b"{}", b'<image href="data:image/svg+xml;base64,PHN2Zy8+" width="1" height="1"/>'
            ),
            "outside itself",
        ),
        (
            (
                '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE svg [<!ENTITY a "b">]>'
                '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">&a;</svg>'
            ).encode("utf-16"),
            "readable PNG, JPEG or SVG",
        ),
        (
            b'<?xml version="1.0" encoding="UTF-7"?><svg xmlns="http://www.w3.org/2000/svg" '
            b'viewBox="0 0 1 1">+ADw-!DOCTYPE x+AD4-</svg>',
            "not a readable SVG",
        ),
        (
            SVG.replace(b'viewBox="0 0 200 100"', b'width="NaN" height="10"').replace(b"{}", b""),
            "without a size",
        ),
        (
            SVG.replace(b'viewBox="0 0 200 100"', b'viewBox="0 0 inf 1"').replace(b"{}", b""),
            "without a size",
        ),
    ],
    ids=[
        "use-bomb",
        "use-cycle",
        "too-many",
        "URL-attribute",
        "import",
        "style-url",
        "nested-svg",
        "utf16-doctype",
        "utf7",
        "nan",
        "infinite",
    ],
)
def test_an_svg_is_parsed_and_bounded_not_pattern_matched(svg: bytes, says: str) -> None:
    with pytest.raises(RenderFailed, match="The image at logo") as error:
        embed({"logo": image(svg)})
    assert says in error.value.message


def test_an_svg_with_a_few_uses_and_an_embedded_png_is_fine() -> None:
    png = base64.b64encode(picture()).decode()
    svg = nested_uses(3).replace(
        b"<defs>",
        f'<image href="data:image/png;base64,{png}" width="5" height="5"/><defs>'.encode(),
    )
    assert isinstance(embed({"logo": image(svg)})["logo"], InlineImage)  # type: ignore[index]
