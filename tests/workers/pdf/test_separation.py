"""Giving each document of a combined PDF resources of its own, on PDFs built here with the
shapes LibreOffice writes (one resource dictionary for every page) and the ones it may write
(text inside a form XObject, composite fonts): each document keeps only what it draws, or is
reported as one that cannot be cut. The LibreOffice-made case is in
tests/workers/convert/test_batching.py."""

from __future__ import annotations

import io

import pikepdf
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from fontTools.ttLib.tables import _h_e_a_d

from workers.pdf import glyphs, separation, to_unicode

# Two one-page documents sharing a font: document 0 shows codes 1-2 ("甲乙"), document 1
# codes 3-4 ("丙丁"); each shows its own image.
TEXT = {1: "甲", 2: "乙", 3: "丙", 4: "丁"}


def combined(
    second_page: bytes = b"BT /F1 12 Tf <0304> Tj ET /Im2 Do", font: dict[str, object] | None = None
) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    font_object = pdf.make_indirect(
        pikepdf.Dictionary(
            font
            or {
                "/Type": pikepdf.Name.Font,
                "/Subtype": pikepdf.Name.Type1,
                "/BaseFont": pikepdf.Name("/AAAAAA+Shared"),
                "/FirstChar": 0,
                "/LastChar": 4,
                "/Widths": [0, 1000, 1000, 1000, 1000],
                "/Encoding": pikepdf.Dictionary(
                    {
                        "/Differences": pikepdf.Array(
                            [
                                1,
                                *(
                                    pikepdf.Name(f"/uni{ord(TEXT[code]):04X}")
                                    for code in range(1, 5)
                                ),
                            ]
                        )
                    }
                ),
                "/ToUnicode": pdf.make_stream(to_unicode.write(TEXT)),
            }
        )
    )
    images = {
        name: pdf.make_stream(
            b"\x00",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=1,
            Height=1,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=8,
        )
        for name in ("/Im1", "/Im2")
    }
    resources = pdf.make_indirect(
        pikepdf.Dictionary(
            {
                "/Font": pikepdf.Dictionary({"/F1": font_object}),
                "/XObject": pikepdf.Dictionary(images),
            }
        )
    )
    for content in (b"BT /F1 12 Tf <0102> Tj ET /Im1 Do", second_page):
        pdf.add_blank_page()
        pdf.pages[-1].obj.Resources = resources
        pdf.pages[-1].obj.Contents = pdf.make_stream(content)
    return pdf


def test_each_document_keeps_only_its_codes_and_images() -> None:
    pdf = combined()
    assert separation.separate(pdf, [range(0, 1), range(1, 2)]) == [True, True]
    for page, codes, image in ((pdf.pages[0], {1, 2}, "/Im1"), (pdf.pages[1], {3, 4}, "/Im2")):
        font = page.obj.Resources.Font.F1
        assert to_unicode.read(font.ToUnicode.read_bytes()) == {c: TEXT[c] for c in codes}
        assert {code for code, width in enumerate(font.Widths) if width} == codes
        differences = [item for item in font.Encoding.Differences if isinstance(item, int)]
        assert set(differences) == codes
        assert list(page.obj.Resources.XObject.keys()) == [image]


def truetype_program() -> bytes:
    """A TrueType program as LibreOffice embeds one: a glyph for each of the codes 1-4."""
    names = [".notdef", "jia", "yi", "bing", "ding"]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap(dict(zip(range(1, 5), names[1:], strict=True)))
    glyphs = {}
    for size, name in enumerate(names, start=1):
        pen = TTGlyphPen(None)
        pen.moveTo((0, 0))
        pen.lineTo((0, 100 * size))
        pen.lineTo((100 * size, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 0) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Shared", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def test_truetype_fonts_keep_each_documents_own_glyphs_each_time() -> None:
    """The second time round, the subsets come from what the worker kept of the first: each
    document still gets its own glyphs, not those of another document of the same font."""
    program = truetype_program()
    for _ in range(2):
        pdf = combined()
        font = pdf.pages[0].Resources.Font.F1
        font.Subtype = pikepdf.Name.TrueType
        del font["/Encoding"]
        font.FontDescriptor = pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontFile2=pdf.make_stream(program, Length1=len(program)),
        )
        assert separation.separate(pdf, [range(0, 1), range(1, 2)]) == [True, True]
        for page, kept in ((pdf.pages[0], {1, 2}), (pdf.pages[1], {3, 4})):
            own = TTFont(io.BytesIO(page.Resources.Font.F1.FontDescriptor.FontFile2.read_bytes()))
            glyf = own["glyf"]
            drawn = {
                gid for gid, name in enumerate(own.getGlyphOrder()) if glyf[name].numberOfContours
            }
            assert drawn == kept | {0}  # glyph ids kept: .notdef and the codes' glyphs


def test_a_truetype_subset_is_the_same_bytes_whenever_it_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A document's PDF depends on its conversion, not on the moment it was cut: fontTools
    would write the time of the cut into each subset's head table."""
    program = truetype_program()
    made = separation._truetype_subset(program, {1, 2})
    monkeypatch.setattr(_h_e_a_d, "timestampNow", lambda: 3_000_000_000)  # some later moment
    assert separation._truetype_subset(program, {1, 2}) == made
    assert made is not None
    assert TTFont(io.BytesIO(made))["head"].modified == TTFont(io.BytesIO(program))["head"].modified


@pytest.mark.parametrize(
    "why, second_page, font",
    [
        ("text inside a form XObject", b"/Fm1 Do", None),
        ("text inside a form XObject drawing with the page's fonts", b"/Fm2 Do", None),
        ("text shown without a font set on the page", b"BT <03> Tj ET", None),
        ("a composite font", None, {"/Type": pikepdf.Name.Font, "/Subtype": pikepdf.Name.Type0}),
        ("a Type 3 font", None, {"/Type": pikepdf.Name.Font, "/Subtype": pikepdf.Name.Type3}),
    ],
)
def test_a_document_whose_share_cannot_be_told_is_reported(
    why: str, second_page: bytes | None, font: dict[str, object] | None
) -> None:
    pdf = combined(second_page or b"BT /F1 12 Tf <0304> Tj ET", font)
    form = pdf.make_stream(
        b"BT /F1 12 Tf <0304> Tj ET",
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=[0, 0, 10, 10],
        Resources=pikepdf.Dictionary(Font=pdf.pages[0].Resources.Font),
    )
    pdf.pages[1].obj.Resources.XObject.Fm1 = form
    pdf.pages[1].obj.Resources.XObject.Fm2 = pdf.make_stream(
        b"BT /F1 12 Tf <0304> Tj ET",
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=[0, 0, 10, 10],
    )
    separated = separation.separate(pdf, [range(0, 1), range(1, 2)])
    assert separated[1] is False, why


def test_a_font_program_too_large_to_read_is_not_cut_down() -> None:
    pdf = combined()
    font = pdf.pages[0].Resources.Font.F1
    del font["/Encoding"]
    program = pdf.make_stream(b"%!PS" + b" " * 16, Length1=4, Length2=separation.MAX_PROGRAM + 1)
    font.FontDescriptor = pikepdf.Dictionary(Type=pikepdf.Name.FontDescriptor, FontFile=program)
    assert separation.separate(pdf, [range(0, 1), range(1, 2)]) == [False, False]


@pytest.mark.parametrize(
    "kind, program",
    [
        ("/FontFile2", b"\x00\x01\x00\x00" + bytes(range(256)) * 8),  # a TrueType head, garbage
        (
            "/FontFile",
            b"%!PS-AdobeFont-1.0: X\n/Encoding 256 array\ndup 1 /a put\nreadonly def\n"
            b"currentfile eexec\n" + bytes(range(256)) * 8,
        ),
        ("/FontFile3", b"\x01\x00\x04\x02"),
    ],
)
def test_a_malformed_font_program_makes_its_document_convert_alone(
    kind: str, program: bytes
) -> None:
    """What LibreOffice embeds comes from a user's font: a program the PDF code cannot read is
    never a crash and never a cut it cannot vouch for."""
    pdf = combined()
    font = pdf.pages[0].Resources.Font.F1
    del font["/Encoding"]
    stream = pdf.make_stream(program)
    if kind == "/FontFile":
        stream.Length1, stream.Length2 = 70, len(program) - 70
    font.FontDescriptor = pikepdf.Dictionary({"/Type": pikepdf.Name.FontDescriptor, kind: stream})
    assert separation.separate(pdf, [range(0, 1), range(1, 2)]) == [False, False]


def test_the_missing_glyph_check_reads_hostile_fonts_without_failing() -> None:
    pdf = combined()
    font = pdf.pages[0].Resources.Font.F1
    font.ToUnicode = pdf.make_stream(
        b"1 beginbfrange\n<00> <FF> <DBFFDFFF>\nendbfrange\n"
        b"1 beginbfrange\n<0000> <FFFFFFFF> <0041>\nendbfrange\n"
    )
    font.FontDescriptor = pikepdf.Dictionary(
        {"/Type": pikepdf.Name.FontDescriptor, "/FontFile2": pdf.make_stream(bytes(4096))}
    )
    out = io.BytesIO()
    pdf.save(out)
    assert glyphs.missing_glyphs(out.getvalue()) == []  # nothing proven, nothing raised
