"""Files for tests: DOCX templates made with python-docx, hostile packages made from them, and
spreadsheets made with openpyxl."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence

import docx

RELS = "word/_rels/document.xml.rels"


def make_docx(*paragraphs: str, footer: str | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if footer is not None:
        document.sections[0].footer.paragraphs[0].text = footer
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_in_font(text: str, font: str) -> bytes:
    """One paragraph of ``text`` in the font ``font`` (as Word's font box sets it)."""
    document = docx.Document()
    document.add_paragraph().add_run(text).font.name = font
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def tamper(extra: dict[str, bytes] | None = None, rels: bytes = b"", body: bytes = b"") -> bytes:
    """A clean template with parts added: extra files (replacing any of the same name),
    relationships, document XML."""
    extra = dict(extra or {})
    source = zipfile.ZipFile(io.BytesIO(make_docx("{{ unit }}")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == RELS:
                data = data.replace(b"</Relationships>", rels + b"</Relationships>")
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:body>", body + b"</w:body>")
            archive.writestr(item, extra.pop(item.filename, data))
        for name, data in extra.items():
            archive.writestr(name, data)
    return out.getvalue()


def external(kind: str, target: str) -> bytes:
    return (
        f'<Relationship Id="rIdX{kind}" TargetMode="External" Target="{target}" '
        f'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}"/>'
    ).encode()


def workbook(rows: Sequence[Sequence[object]], title: str | None = None) -> bytes:
    """An .xlsx of ``rows``; ``title``: a title row merged across the top first, as bureaus
    keep their sheets."""
    import openpyxl

    book = openpyxl.Workbook()
    if title is not None:
        book.active.append([title])
        width = max(len(row) for row in rows)
        book.active.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def picture(
    kind: str = "PNG",
    size: tuple[int, int] = (300, 200),
    colour: tuple[int, int, int] = (200, 30, 30),
) -> bytes:
    """An image file made with Pillow: a plain rectangle of ``colour``."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def sheet_claiming(ref: str, last_row: int) -> bytes:
    """An .xlsx (a header and one row) whose ``<dimension>`` claims ``ref`` and which has one
    more cell, in column A of ``last_row``: a few KB that openpyxl would pad to the claimed
    width on every row."""
    data = workbook([["unit", "count"], ["甲", 1]])
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(
                    rb'<dimension ref="[^"]*"/>', b'<dimension ref="%s"/>' % ref.encode(), body
                )
                body = body.replace(
                    b"</sheetData>",
                    b'<row r="%d"><c r="A%d" t="inlineStr"><is>'
                    b"<t>X</t></is></c></row></sheetData>" % (last_row, last_row),
                )
            archive.writestr(item, body)
    return out.getvalue()


def many_paragraphs(count: int) -> bytes:
    """A Word document of ``count`` empty paragraphs (varied enough to deflate only about
    24:1, under the inflate ratio a package may have): a few MB that parse into more than a
    GiB of XML tree."""
    import random

    chance = random.Random(count)
    return tamper(
        body=b"".join(b'<w:p w:rsidR="%08X"/>' % chance.getrandbits(4) for _ in range(count))
    )


def template_with_pictures() -> bytes:
    """A template as a designer makes one in Word: dummy pictures placed at their size, a seal
    in the body with its alt text (公章), a photo in a table cell, a logo in the header (each
    40x40 px, in red, blue, green)."""
    from docx.shared import Mm

    document = docx.Document()
    document.add_paragraph("{{ unit }}")
    seal = (
        document.add_paragraph()
        .add_run()
        .add_picture(io.BytesIO(picture("PNG", (40, 40), (200, 0, 0))), width=Mm(30))
    )
    seal._inline.docPr.set("descr", "公章")
    cell = document.add_table(rows=1, cols=2).cell(0, 1)
    cell.paragraphs[0].add_run().add_picture(
        io.BytesIO(picture("PNG", (40, 40), (0, 0, 200))), width=Mm(20)
    )
    header = document.sections[0].header.paragraphs[0]
    logo = header.add_run().add_picture(
        io.BytesIO(picture("PNG", (40, 40), (0, 150, 0))), width=Mm(15)
    )
    logo._inline.docPr.set("descr", "局徽")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DUMMY_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    b'<rect width="100" height="100" fill="#ffcc00"/>'
    b'<text x="8" y="55" font-size="18">DUMMY-SEAL</text></svg>'
)


def with_svg_original(template: bytes, alt: str) -> bytes:
    """``template`` with its picture ``alt`` as Word keeps a picture inserted from an SVG file:
    the blip's PNG, and the SVG itself (word/media/dummy-seal.svg, ``DUMMY_SVG``) in the blip's
    svgBlip extension, which LibreOffice prints instead of the PNG."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from lxml import etree

    from docrender.templates.pictures import placed_pictures

    document = docx.Document(io.BytesIO(template))
    package = document.part.package
    svg = Part(PackURI("/word/media/dummy-seal.svg"), "image/svg+xml", DUMMY_SVG, package)
    rid = document.part.relate_to(svg, RELATIONSHIP_TYPE.IMAGE)
    blip = next(placed.blip for placed in placed_pictures(document) if alt in placed.names)
    drawing = "http://schemas.openxmlformats.org/drawingml/2006/main"
    extensions = etree.SubElement(blip, f"{{{drawing}}}extLst")
    extension = etree.SubElement(
        extensions, f"{{{drawing}}}ext", uri="{96DAC541-7B7A-43D3-8B79-37D633B846F1}"
    )
    original = etree.SubElement(
        extension, "{http://schemas.microsoft.com/office/drawing/2016/SVG/main}svgBlip"
    )
    original.set("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed", rid)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def with_vml_picture(template: bytes, alt: str, size: tuple[int, int] = (30, 30)) -> bytes:
    """``template`` with a picture in its header as Word writes a picture watermark or an
    older Word a header picture: VML (``<w:pict><v:shape alt=...><v:imagedata r:id=...>``),
    a purple PNG of ``size`` pixels, 20 mm wide."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from lxml import etree

    document = docx.Document(io.BytesIO(template))
    header = document.sections[0].header
    image = header.part.package.get_or_add_image_part(
        io.BytesIO(picture("PNG", size, (120, 0, 120)))
    )
    rid = header.part.relate_to(image, RELATIONSHIP_TYPE.IMAGE)
    run = etree.fromstring(
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
        ' xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
        ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<w:pict><v:shape id="logo" style="width:20mm;height:20mm" alt="{alt}">'
        f'<v:imagedata r:id="{rid}" o:title="watermark"/></v:shape></w:pict></w:r>'
    )
    header.paragraphs[0]._p.append(run)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def floating(template: bytes, alt: str) -> bytes:
    """``template`` with its picture ``alt`` floating as a seal is laid over a signature:
    Word's ``wp:anchor`` (placed on the page, no wrapping) instead of ``wp:inline``."""
    import copy

    from lxml import etree

    document = docx.Document(io.BytesIO(template))
    wp = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
    inline = next(
        found
        for found in document.element.body.iter(f"{{{wp}}}inline")
        if found.find(f"{{{wp}}}docPr").get("descr") == alt
    )
    anchor = etree.fromstring(
        f'<wp:anchor xmlns:wp="{wp}" distT="0" distB="0" distL="0" distR="0" simplePos="0"'
        ' relativeHeight="2" behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">'
        '<wp:simplePos x="0" y="0"/>'
        '<wp:positionH relativeFrom="page"><wp:posOffset>4000000</wp:posOffset></wp:positionH>'
        '<wp:positionV relativeFrom="page"><wp:posOffset>2000000</wp:posOffset></wp:positionV>'
        "</wp:anchor>"
    )
    anchor.append(copy.deepcopy(inline.find(f"{{{wp}}}extent")))
    anchor.append(etree.fromstring(f'<wp:effectExtent xmlns:wp="{wp}" l="0" t="0" r="0" b="0"/>'))
    anchor.append(etree.fromstring(f'<wp:wrapNone xmlns:wp="{wp}"/>'))
    for child in inline:
        if child.tag.endswith(("}docPr", "}cNvGraphicFramePr", "}graphic")):
            anchor.append(copy.deepcopy(child))
    inline.getparent().replace(inline, anchor)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
