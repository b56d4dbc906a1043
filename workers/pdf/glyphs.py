"""Which characters of a document print as tofu: the ``.notdef`` glyph, an empty box, or
nothing at all.

A character no installed font covers cannot print: LibreOffice either draws a font's
``.notdef`` glyph for it (writing the character to the text layer, so text extraction still
finds it) or, when the run's font falls back elsewhere, leaves it out. Such characters are
found from the installed fonts' coverage; the PDF's own fonts are read as well (the codes each
ToUnicode map gives a character, and the glyph each code draws: the built-in encoding of a
Type 1 font, the cmap of a TrueType one) for what LibreOffice drew with ``.notdef`` anyway.
"""

from __future__ import annotations

import bisect
import functools
import io
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from fontTools.misc import psLib
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from docrender.i18n import Message, StoredWarning, _, ngettext
from workers.pdf import to_unicode
from workers.pdf.separation import MAX_PROGRAM

NOTDEF = ".notdef"


def missing_glyphs(pdf: bytes) -> list[str]:
    """The characters drawn with ``.notdef``, in order of first appearance."""
    missing: dict[str, None] = {}
    for font in _fonts(PdfReader(io.BytesIO(pdf))):
        text_of = _to_unicode(font)
        if not text_of:
            continue
        for code in _notdef_codes(font, text_of.keys()):
            for character in text_of[code]:
                if not character.isspace():
                    missing[character] = None
    return list(missing)


def _fonts(reader: PdfReader) -> Iterator[Any]:
    seen: set[int] = set()
    for page in reader.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources else None
        for reference in fonts.get_object().values() if fonts else ():
            number = getattr(reference, "idnum", id(reference))
            if number not in seen:
                seen.add(number)
                yield reference.get_object()


def _to_unicode(font: Any) -> dict[int, str]:
    if "/ToUnicode" not in font:
        return {}
    return to_unicode.read(font["/ToUnicode"].get_object().get_data())


def _notdef_codes(font: Any, codes: Any) -> set[int]:
    """Of ``codes``, those the font draws with ``.notdef``. An unreadable or unknown font
    program counts as drawing nothing wrong: the check only reports what it can prove."""
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return set()
    descriptor = descriptor.get_object()
    program = descriptor.get("/FontFile2") or descriptor.get("/FontFile")
    if program is not None and any(
        int(program.get_object().get(key, 0)) > MAX_PROGRAM for key in ("/Length", "/Length1")
    ):
        return set()  # a program this large is not read (the cut documents' rule too)
    try:
        if "/FontFile2" in descriptor:
            glyph_of = _truetype_glyphs(descriptor["/FontFile2"].get_object().get_data())
        elif "/FontFile" in descriptor:
            glyph_of = _type1_glyphs(descriptor["/FontFile"].get_object())
        else:
            return set()
    except Exception:  # a font program fontTools cannot read: no proof either way
        return set()
    return {code for code in codes if glyph_of.get(code, NOTDEF) == NOTDEF}


def _truetype_glyphs(program: bytes) -> dict[int, str]:
    font = TTFont(io.BytesIO(program))
    notdef = font.getGlyphOrder()[0]
    glyphs: dict[int, str] = {}
    for table in font["cmap"].tables:
        for code, glyph in table.cmap.items():
            glyphs.setdefault(code & 0xFF, NOTDEF if glyph == notdef else glyph)
    return glyphs


def _type1_glyphs(stream: Any) -> dict[int, str]:
    """Code -> glyph name from a Type 1 program's built-in encoding (the PDF holds the
    program as fontTools reads a PFB file's contents)."""
    font = psLib.suckfont(stream.get_data())
    return {code: str(name) for code, name in enumerate(font["Encoding"])}


def uncovered(text: str) -> list[str]:
    """The characters of ``text`` no installed font covers, in order of first appearance.
    Only they can print as tofu (or, depending on the fonts around them, not at all), and only
    when there are some is it worth reading a PDF's fonts (about 35 ms a document)."""
    # Each character once, in order of appearance.
    return [character for character in dict.fromkeys(text) if not _covered(character)]


# Most characters recur from one document to the next: each is looked up once per process
# (a bounded number: text of every script cycles through it, never grows it).
@functools.lru_cache(maxsize=1 << 16)
def _covered(character: str) -> bool:
    """Whether some installed font covers ``character`` (white space and controls count as
    covered: they print as nothing anyway)."""
    if character.isspace() or not character.isprintable():
        return True
    coverage = _installed_coverage()
    code = ord(character)
    at = bisect.bisect_right(coverage, (code, sys.maxsize)) - 1
    return at >= 0 and coverage[at][0] <= code <= coverage[at][1]


@functools.cache
def _installed_coverage() -> list[tuple[int, int]]:
    """The code points some installed font covers, as sorted (first, last) ranges. Without
    fontconfig nothing counts as covered, so every PDF is read."""
    try:
        listed = subprocess.run(
            ["fc-list", "--format=%{charset}\\n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    ranges = []
    for item in listed.split():
        low, _, high = item.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def missing_glyph_warning(characters: list[str]) -> StoredWarning:
    listed = ", ".join(f"{c} (U+{ord(c):04X})" for c in characters[:20])
    shown: str | Message = listed
    if len(characters) > 20:
        shown = _("%(shown)s and %(more)s more", shown=listed, more=len(characters) - 20)
    text = ngettext(
        "%(count)s character has no glyph in any installed font and prints as an empty box: "
        "%(shown)s. Install a font that has it, or check the data.",
        "%(count)s characters have no glyph in any installed font and print as empty boxes: "
        "%(shown)s. Install a font that has them, or check the data.",
        len(characters),
        shown=shown,
    )
    return {
        "code": "missing_glyphs",
        "message": str(text),
        "text": text.to_json(),
        "characters": characters[:200],
    }
