"""Each document of a combined conversion gets fonts of its own before the PDF is cut apart.

LibreOffice subsets the fonts of a combined document once for all of it, and its pages share
one resource dictionary that names every subset. A document cut out as it is would carry every
subset of its group, each holding the glyphs of all the group's documents: a sample report
weighed about 600 KB instead of 210-410 KB converted alone. So before the cut
(workers/convert/batching.py), each document's pages get font resources of their own, naming only
the fonts they draw with, and each Type 1 font program among them (the CJK fonts, which weigh the
most) keeps only the glyphs that document draws (workers/pdf/type1.py). The cut then copies each
document's own fonts only. Content streams, widths, ToUnicode maps and the kept glyph programs are
unchanged, so each page draws and extracts exactly as before.

Where the glyphs a document draws cannot be told from its page content (text inside a form
XObject, pattern or Type 3 glyph, a font with an encoding other than its built-in one, a
program laid out otherwise), that font or page is kept whole: a heavier file, never a missing
glyph.
"""

from __future__ import annotations

from collections.abc import Sequence

import pikepdf

from workers.pdf.type1 import Type1Program

# The operators that select a font or show text, and the graphics state saves around them.
_TEXT_OPERATORS = "q Q Tf Tj TJ ' \""
_ObjGen = tuple[int, int]


def separate(combined: pikepdf.Pdf, documents: Sequence[range]) -> None:
    """Make the pages of each of ``documents`` (ranges of page indexes) draw from font objects
    of their own, subset to that document's glyphs."""
    programs: dict[_ObjGen, Type1Program | None] = {}
    for pages in documents:
        _give_own_fonts(combined, [combined.pages[index] for index in pages], programs)


def _give_own_fonts(
    pdf: pikepdf.Pdf, pages: list[pikepdf.Page], programs: dict[_ObjGen, Type1Program | None]
) -> None:
    drawn = [_codes_by_font(page) for page in pages]
    codes_of: dict[_ObjGen, set[int]] = {}  # the document's codes per font object
    for page, codes in zip(pages, drawn, strict=True):
        for name, font_codes in (codes or {}).items():
            codes_of.setdefault(page.obj.Resources.Font[name].objgen, set()).update(font_codes)
    own: dict[_ObjGen, pikepdf.Object] = {}
    for page, codes in zip(pages, drawn, strict=True):
        if codes is None:
            continue  # kept as it is, with the shared fonts
        fonts = page.obj.Resources.Font
        page_fonts = pikepdf.Dictionary()
        for name in codes:
            font = fonts[name]
            if font.objgen not in own:
                own[font.objgen] = _font_for(pdf, font, codes_of[font.objgen], programs)
            page_fonts[name] = own[font.objgen]
        resources = pikepdf.Dictionary(page.obj.Resources)
        resources.Font = page_fonts
        page.obj.Resources = resources


def _codes_by_font(page: pikepdf.Page) -> dict[str, set[int]] | None:
    """The character codes each font of the page's resources shows, or None when text may be
    drawn from elsewhere than the page's own content (the page then keeps its resources)."""
    resources = page.obj.get("/Resources")
    if not isinstance(resources, pikepdf.Dictionary) or "/Font" not in resources:
        return None if resources is None else {}
    if not _draws_text_only_in_content(resources):
        return None
    names = set(resources.Font.keys())
    shown: dict[str, bytearray] = {}  # the bytes each font shows: its codes
    font: str | None = None
    saved: list[str | None] = []
    for instruction in pikepdf.parse_content_stream(page, _TEXT_OPERATORS):
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            saved.append(font)
        elif op == "Q":
            font = saved.pop() if saved else None
        elif op == "Tf":
            font = str(operands[0])
            if font not in names:
                return None
            shown.setdefault(font, bytearray())
        elif font is None:
            return None  # text shown with a font set elsewhere
        elif op == "TJ":
            shown[font] += b"".join(bytes(item) for item in operands[0]
                                    if isinstance(item, pikepdf.String))  # fmt: skip
        else:  # Tj, ' and " show their last operand
            shown[font] += bytes(operands[-1])
    return {name: set(codes) for name, codes in shown.items()}


def _draws_text_only_in_content(resources: pikepdf.Dictionary) -> bool:
    """No form XObject, pattern or Type 3 font of the page has fonts of its own."""
    nested = [*resources.get("/XObject", {}).values(), *resources.get("/Pattern", {}).values(),
              *(f for f in resources.Font.values() if f.get("/Subtype") == "/Type3")]  # fmt: skip
    return not any(
        isinstance(item, pikepdf.Dictionary | pikepdf.Stream)
        and "/Font" in item.get("/Resources", {})
        for item in nested
    )


def _font_for(
    pdf: pikepdf.Pdf, font: pikepdf.Object, codes: set[int],
    programs: dict[_ObjGen, Type1Program | None],
) -> pikepdf.Object:  # fmt: skip
    """A copy of ``font`` whose program holds only the glyphs of ``codes``, or ``font`` itself
    when its program cannot be subset or holds nothing else."""
    if font.get("/Subtype") != "/Type1" or "/Encoding" in font:
        return font
    descriptor = font.get("/FontDescriptor")
    file = descriptor.get("/FontFile") if descriptor is not None else None
    if file is None:
        return font
    if file.objgen not in programs:
        programs[file.objgen] = Type1Program.read(
            file.read_bytes(), int(file.Length1), int(file.Length2)
        )
    program = programs[file.objgen]
    names = program.glyph_names(codes) if program is not None else None
    parts = program.subset(names) if program is not None and names is not None else None
    if program is None or parts is None:
        return font
    cleartext, encrypted = parts
    subset_file = pikepdf.Stream(pdf, cleartext + encrypted + program.trailer)
    subset_file.Length1 = len(cleartext)
    subset_file.Length2 = len(encrypted)
    subset_file.Length3 = len(program.trailer)
    own_descriptor = pikepdf.Dictionary(descriptor)
    own_descriptor.FontFile = pdf.make_indirect(subset_file)
    own_font = pikepdf.Dictionary(font)
    own_font.FontDescriptor = pdf.make_indirect(own_descriptor)
    return pdf.make_indirect(own_font)
