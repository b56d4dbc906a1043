"""Reading what a page's content names and shows: the quick reader, on the part of PDF's
syntax LibreOffice writes, answers exactly what pikepdf's parser answers, and leaves every
stream outside that part to the parser. (Both on LibreOffice's own pages:
tests/workers/convert/test_batching.py.)"""

from __future__ import annotations

import pikepdf
import pytest

from workers.pdf import shown

FONTS = {"/F1", "/F2"}


def one_page(content: bytes) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].obj.Contents = pdf.make_stream(content)
    return pdf


# Streams in LibreOffice's part of the syntax, with what each font shows.
READ_QUICKLY = {
    "one font": (b"BT /F1 12 Tf<0102>Tj ET", {"/F1": {1, 2}}),
    "fonts in turn": (
        b"BT\n1 0 Td /F1 12 Tf<01>Tj\n1 0 0 1 5 5 Tm\n/F2 10.5 Tf[<02>-3<0304>]TJ\nET",
        {"/F1": {1}, "/F2": {2, 3, 4}},
    ),
    # Q restores the font set before q: the text after it is /F1's.
    "a font restored": (
        b"BT /F1 12 Tf q /F2 12 Tf<05>Tj Q<06>Tj ET",
        {"/F1": {6}, "/F2": {5}},
    ),
    # Each show right after its font, as LibreOffice writes them; then a font that shows
    # twice, and one moved to before its show: the state followed through the stream.
    "fonts then shows": (
        b"BT\n1 0 Td /F2 12 Tf<0A0B>Tj\n/F1 12 Tf[<0C>2<0D>]TJ\n/F2 12 Tf<0E>Tj\nET",
        {"/F1": {0x0C, 0x0D}, "/F2": {0x0A, 0x0B, 0x0E}},
    ),
    "a font showing twice": (
        b"BT /F1 12 Tf<01>Tj /F2 12 Tf<02>Tj<03>Tj ET",
        {"/F1": {1}, "/F2": {2, 3}},
    ),
    "a font set before a move": (b"BT /F2 12 Tf 1 0 0 1 5 5 Tm<04>Tj ET", {"/F2": {4}}),
    "quote operators": (b"BT /F1 12 Tf<07>' 1 2<08>\" ET", {"/F1": {7, 8}}),
    # Hex digits spell BDC: not an operator inside a string.
    "BDC in a string": (b"BT /F2 12 Tf<0BDC0A>Tj ET", {"/F2": {0x0B, 0xDC, 0x0A}}),
    "resources named": (
        b"q /GS1 gs /Im3 Do Q /Sh1 sh /P1 scn /CS0 cs /P2 SCN /OC /MC0 BDC EMC",
        {},
    ),
}


@pytest.mark.parametrize("content", READ_QUICKLY.values(), ids=READ_QUICKLY.keys())
def test_the_quick_reader_answers_as_the_parser(
    content: tuple[bytes, dict[str, set[int]]],
) -> None:
    data, codes = content
    quick = shown._quick_uses(data, FONTS)
    pdf = one_page(data)
    parsed = shown._parsed_uses(pdf.pages[0], FONTS)
    assert quick is not None, "the stream went to the parser"
    assert quick.codes == parsed.codes == codes
    assert quick.names == parsed.names


# Streams outside that part, or in forms the quick reader does not read: the parser's.
LEFT_TO_THE_PARSER = {
    "literal string": b"BT /F1 12 Tf (ab) Tj ET",
    "dictionary operand": b"/Span <</MCID 0>> BDC BT /F1 12 Tf<01>Tj ET EMC",
    "comment": b"BT /F1 12 Tf<01>Tj % <02>Tj\nET",
    "inline image": b"BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI",
    "escaped name": b"BT /F#31 12 Tf<01>Tj ET",
    "odd hex string": b"BT /F1 12 Tf<010>Tj ET",
    "spaced hex string": b"BT /F1 12 Tf<01 02>Tj ET",
    "font set by a name operand elsewhere": b"BT /F1 /F2 Tf<01>Tj ET",
    "q inside a name": b"BT /F1 12 Tf<01>Tj ET /Imq Do",
    "glued operator": b"BT /F1 12 Tf<01>Tjx ET",
    "text before any font": b"BT <01>Tj ET",
    "unknown font": b"BT /F9 12 Tf<01>Tj ET",
}


@pytest.mark.parametrize("data", LEFT_TO_THE_PARSER.values(), ids=LEFT_TO_THE_PARSER.keys())
def test_what_the_quick_reader_does_not_read_goes_to_the_parser(data: bytes) -> None:
    assert shown._quick_uses(data, FONTS) is None


def test_text_shown_with_no_font_of_the_page_is_told() -> None:
    for data in (b"BT <01>Tj ET", b"BT /F9 12 Tf<01>Tj ET"):
        pdf = one_page(data)
        with pytest.raises(shown.TextFromElsewhere):
            shown.page_uses(pdf.pages[0], FONTS)
