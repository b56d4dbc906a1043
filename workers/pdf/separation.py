"""Each document cut from a combined conversion carries only what it draws itself.

LibreOffice writes one resource dictionary for all the pages of a combined conversion and
subsets each font once for all its documents. A document cut out as it is would carry every
font subset of its group, each with the glyphs, widths and ToUnicode entries of every other
document (in a 6-document job, document 0's PDF mapped each character of document 1's names),
and the images the others show. A bureau sends each unit its own report: that is a leak, and a
heavier file. So before the cut (workers/convert/batching.py), each document's pages get
resources of their own, naming only what their content uses, and each font a copy holding only
the codes the document shows: its ToUnicode map (workers/pdf/to_unicode.py), its widths, its
/Differences, and its glyph program (Type 1: workers/pdf/type1.py; TrueType: fontTools'
subsetter, glyph ids kept). Content streams and the kept glyphs are unchanged, so each page
draws and extracts exactly as before.

Where a document's own share cannot be told for sure (text drawn inside a form XObject,
pattern, annotation appearance or Type 3 glyph, a font kind or program this module does not
subset), ``separate`` says so, and that document is converted alone instead
(workers/tasks.py): a slower document, never a leaking one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import cachetools
import pikepdf
from fontTools import subset
from fontTools.ttLib import TTFont

from workers.pdf import shown, to_unicode
from workers.pdf.type1 import Type1Program

# LibreOffice's TrueType subsets carry a zero creation date, which fontTools warns about.
logging.getLogger("fontTools.ttLib.tables._h_e_a_d").setLevel(logging.ERROR)
# fontTools' subsetter tells at INFO what it keeps and how long each step took: half a dozen
# lines in the worker log for every TrueType font of every cut document.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

_SIMPLE_FONTS = {"/Type1", "/MMType1", "/TrueType"}
MAX_PROGRAM = 8 << 20  # a font program larger than this is not read: its document converts alone
_NESTING = 8  # form XObjects inside form XObjects: deeper counts as drawing text
# TrueType subsets made, kept per worker process by the program's digest and the codes kept.
# LibreOffice embeds its TrueType fonts (OpenSymbol's bullet, Carlito's digits, DejaVu's
# punctuation) as subsets of a few glyphs, the same bytes conversion after conversion, and most
# documents keep the same one or two codes of them: fontTools took 2 ms to cut each. A subset
# is a pure function of the two, so a tenant gets from here only what it would have made.
TRUETYPE_KEPT_BYTES = 8 << 20
_TRUETYPE_KEPT_AT_MOST = 256 << 10  # bigger programs (a template's own fonts) are cut each time
_TRUETYPE_SUBSETS: cachetools.LRUCache[tuple[bytes, frozenset[int]], bytes | None] = (
    cachetools.LRUCache(TRUETYPE_KEPT_BYTES, getsizeof=lambda made: len(made or b"") + 64)
)
_ObjGen = tuple[int, int]


@dataclass
class _Read:
    """What is read once per combined PDF, for every document whose fonts share it."""

    programs: dict[_ObjGen, Type1Program | None] = field(default_factory=dict)
    # Each ToUnicode map's entries by code, written out (to_unicode.entries).
    maps: dict[_ObjGen, dict[int, bytes]] = field(default_factory=dict)
    # Each font's widths, by code (reading a PDF array costs more than writing one).
    widths: dict[_ObjGen, list[tuple[int, object]]] = field(default_factory=dict)


def separate(combined: pikepdf.Pdf, documents: Sequence[range]) -> list[bool]:
    """Give the pages of each of ``documents`` (ranges of page indexes) resources of their own,
    holding only what those pages draw. Returns, per document, whether that now holds; a
    document for which it does not must not be cut from ``combined``."""
    read = _Read()
    return [
        _give_own_resources(combined, [combined.pages[index] for index in pages], read)
        for pages in documents
    ]


def _give_own_resources(pdf: pikepdf.Pdf, pages: list[pikepdf.Page], read: _Read) -> bool:
    uses = [_uses(page) for page in pages]
    if any(use is None for use in uses):
        return False
    codes_of: dict[_ObjGen, set[int]] = {}  # the document's codes per font object
    for page, use in zip(pages, uses, strict=True):
        for name, codes in use.codes.items():  # type: ignore[union-attr]
            font = page.obj.Resources.Font[name]
            if not font.is_indirect:
                return False  # no identity to gather its codes under
            codes_of.setdefault(font.objgen, set()).update(codes)
    own: dict[_ObjGen, pikepdf.Object] = {}
    for page, use in zip(pages, uses, strict=True):
        resources = page.obj.get("/Resources")
        if resources is None:
            continue
        kept = pikepdf.Dictionary()
        for category, entries in resources.items():
            if category not in shown.PRUNED:
                kept[category] = entries
                continue
            named = pikepdf.Dictionary()
            for name in use.names[category] & set(entries.keys()):  # type: ignore[union-attr]
                item = entries[name]
                if category == "/Font":
                    if item.objgen not in own:
                        made = _own_font(pdf, item, codes_of.get(item.objgen, set()), read)
                        if made is None:
                            return False
                        own[item.objgen] = made
                    item = own[item.objgen]
                named[name] = item
            kept[category] = named
        page.obj.Resources = kept
    return True


def _uses(page: pikepdf.Page) -> shown.Uses | None:
    """What the page's content names and shows, or None when text may be drawn from elsewhere
    than the page's own content."""
    resources = page.obj.get("/Resources")
    if resources is None:
        return shown.Uses()
    try:
        uses = shown.page_uses(page, set(resources.get("/Font", {}).keys()))
    except shown.TextFromElsewhere:
        return None
    nested: list[pikepdf.Object] = [
        resources[category][name]
        for category in ("/XObject", "/Pattern", "/ExtGState")
        if category in resources
        for name in uses.names[category] & set(resources[category].keys())
    ]
    nested += _appearances(page)
    if any(_draws_text(item, _NESTING) for item in nested):
        return None
    return uses


def _appearances(page: pikepdf.Page) -> list[pikepdf.Stream]:
    """The appearance streams of the page's annotations (form fields draw text in them)."""
    streams = []
    for annotation in page.obj.get("/Annots", []):
        for appearance in annotation.get("/AP", {}).values():
            if isinstance(appearance, pikepdf.Stream):
                streams.append(appearance)
            elif isinstance(appearance, pikepdf.Dictionary):
                streams += [
                    state for state in appearance.values() if isinstance(state, pikepdf.Stream)
                ]
    return streams


def _draws_text(item: pikepdf.Object, depth: int) -> bool:
    """Whether ``item`` (a form XObject, pattern, graphics state or appearance) may show text:
    it sets a font, or holds resources through which it could."""
    if not isinstance(item, pikepdf.Dictionary | pikepdf.Stream):
        return False
    if "/Font" in item:  # a graphics state that sets a font
        return True
    resources = item.get("/Resources")
    if resources is None:  # a form without resources of its own draws with the page's
        return isinstance(item, pikepdf.Stream) and any(
            True for _ in pikepdf.parse_content_stream(item, "Tf Tj TJ ' \"")
        )
    if depth == 0 or "/Font" in resources:
        return True
    return any(
        _draws_text(inner, depth - 1)
        for category in ("/XObject", "/Pattern", "/ExtGState")
        for inner in resources.get(category, {}).values()
    )


# -- one document's copy of a font ----------------------------------------------------------


def _copy(dictionary: pikepdf.Object) -> pikepdf.Dictionary:
    """A shallow copy (pikepdf's stubs ask a Mapping; a PDF dictionary is one)."""
    return pikepdf.Dictionary(dictionary)  # type: ignore[arg-type]


def _own_font(
    pdf: pikepdf.Pdf,
    font: pikepdf.Object,
    codes: set[int],
    read: _Read,
) -> pikepdf.Object | None:
    """A copy of ``font`` holding only ``codes``: ToUnicode entries, widths, /Differences and
    glyphs. None for a font this module cannot cut down so (a composite or Type 3 font, an
    encoding or program it does not read)."""
    if font.get("/Subtype") not in _SIMPLE_FONTS:
        return None
    own = _copy(font)
    if "/Widths" in font:
        if font.objgen not in read.widths:
            first = int(font.get("/FirstChar", 0))
            read.widths[font.objgen] = [
                (first + offset, width) for offset, width in enumerate(font.Widths)
            ]
        own.Widths = pikepdf.Array(
            [width if code in codes else 0 for code, width in read.widths[font.objgen]]
        )
    if "/ToUnicode" in font:
        key = font.ToUnicode.objgen
        if key not in read.maps:
            read.maps[key] = to_unicode.entries(to_unicode.read(font.ToUnicode.read_bytes()))
        kept = [entry for code, entry in read.maps[key].items() if code in codes]
        own.ToUnicode = _deflated(pdf, to_unicode.write_entries(kept))
    encoding = font.get("/Encoding")
    if isinstance(encoding, pikepdf.Dictionary):
        own.Encoding = _own_encoding(encoding, codes)
    elif encoding is not None and not isinstance(encoding, pikepdf.Name):
        return None
    descriptor = font.get("/FontDescriptor")
    if descriptor is not None:
        own_descriptor = _own_descriptor(pdf, font, descriptor, codes, read)
        if own_descriptor is None:
            return None
        own.FontDescriptor = own_descriptor
    return pdf.make_indirect(own)


def _own_encoding(encoding: pikepdf.Dictionary, codes: set[int]) -> pikepdf.Dictionary:
    """The encoding with /Differences naming only ``codes`` (glyph names such as uni7EDD
    say which character a code stands for)."""
    own = _copy(encoding)
    if "/Differences" in encoding:
        kept: list[object] = []
        code = 0
        for item in encoding.Differences:
            if isinstance(item, pikepdf.Name):
                if code in codes:
                    kept += [code, item]
                code += 1
            else:
                code = int(item)
        own.Differences = pikepdf.Array(kept)
    return own


def _own_descriptor(
    pdf: pikepdf.Pdf,
    font: pikepdf.Object,
    descriptor: pikepdf.Object,
    codes: set[int],
    read: _Read,
) -> pikepdf.Object | None:
    own = _copy(descriptor)
    for key in ("/CharSet", "/CIDSet"):  # optional lists of the glyphs the program holds
        if key in own:
            del own[key]
    if "/FontFile3" in descriptor:
        return None
    if "/FontFile" in descriptor:
        if "/Encoding" in font:  # glyphs chosen through another encoding than the program's
            return None
        file = _type1_subset(pdf, descriptor.FontFile, codes, read)
        if file is None:
            return None
        own.FontFile = file
    if "/FontFile2" in descriptor:
        file = descriptor.FontFile2
        if int(file.get("/Length", 0)) > MAX_PROGRAM:
            return None
        whole = file.read_bytes()
        program = _kept_truetype_subset(whole, codes)
        if program is None:
            return None
        if program is not whole:
            own_file = _deflated(pdf, program)
            own_file.Length1 = len(program)
            own.FontFile2 = own_file
    return pdf.make_indirect(own)


def _type1_subset(
    pdf: pikepdf.Pdf,
    file: pikepdf.Object,
    codes: set[int],
    read: _Read,
) -> pikepdf.Object | None:
    if file.objgen not in read.programs:
        length = int(file.get("/Length1", 0)) + int(file.get("/Length2", 0))
        read.programs[file.objgen] = (
            Type1Program.read(file.read_bytes(), int(file.Length1), int(file.Length2))
            if 0 < length <= MAX_PROGRAM
            else None
        )
    program = read.programs[file.objgen]
    names = program.glyph_names(codes) if program is not None else None
    if program is None or names is None:
        return None
    parts = program.subset(names)
    if parts is None:  # the program holds these glyphs only
        return file
    cleartext, encrypted = parts
    # Not deflated: the encrypted part is most of it, and deflate takes 3-4 % off it at about
    # 30 ms a megabyte.
    own = pikepdf.Stream(pdf, cleartext + encrypted + program.trailer)
    own.Length1 = len(cleartext)
    own.Length2 = len(encrypted)
    own.Length3 = len(program.trailer)
    return pdf.make_indirect(own)


def _deflated(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Stream:
    """A stream holding ``data`` deflated. The cut documents are saved without compressing
    what is not (batching._extract), so each new stream says here whether it is worth it."""
    stream = pikepdf.Stream(pdf, b"")
    # Level 1: half the time of the default level, for 5 % more bytes on these (0.4 KB a
    # sample report).
    stream.write(zlib.compress(data, 1), filter=pikepdf.Name.FlateDecode)
    return stream


def _kept_truetype_subset(program: bytes, codes: set[int]) -> bytes | None:
    """``_truetype_subset``, made once per worker process for each program and codes."""
    if len(program) > _TRUETYPE_KEPT_AT_MOST:
        return _truetype_subset(program, codes)
    key = (hashlib.blake2b(program, digest_size=16).digest(), frozenset(codes))
    try:
        made = _TRUETYPE_SUBSETS[key]
    except KeyError:
        made = _TRUETYPE_SUBSETS[key] = _truetype_subset(program, codes)
    return program if made == program else made  # ``program`` itself when kept whole


def _truetype_subset(program: bytes, codes: set[int]) -> bytes | None:
    """The TrueType program with glyphs for ``codes`` only (glyph ids kept, so the codes draw
    as before), and its cmap mapping only them; ``program`` itself when it holds no other
    code. None when fontTools cannot read it."""
    try:
        # Without the time of the cut in head.modified: the same program and codes, the same bytes.
        font = TTFont(io.BytesIO(program), recalcTimestamp=False)
        kept_tables = []
        glyphs: set[str] = set()
        for table in font["cmap"].tables:
            # A symbolic font's (3,0) table maps U+F000 + code, as PDF 32000-1 9.6.6.4 reads it.
            mapping = {
                code: glyph
                for code, glyph in table.cmap.items()
                if code & 0xFF in codes and (code < 0x100 or table.platformID == 3)
            }
            glyphs.update(mapping.values())
            kept_tables.append((table, mapping))
        if all(len(table.cmap) == len(mapping) for table, mapping in kept_tables):
            return program  # it holds these codes' glyphs only
        options = subset.Options(
            retain_gids=True,
            notdef_outline=True,
            glyph_names=False,
            name_IDs=["*"],
            name_languages=["*"],
            drop_tables=[],
            recalc_bounds=False,
            recalc_timestamp=False,
            prune_unicode_ranges=False,
            legacy_cmap=True,
        )
        subsetter = subset.Subsetter(options)
        subsetter.populate(glyphs=glyphs)
        subsetter.subset(font)
        # The subsetter drops format 0 tables, which LibreOffice writes: restore them, cut down.
        for table, mapping in kept_tables:
            table.cmap = mapping
        font["cmap"].tables = [table for table, _mapping in kept_tables]
        out = io.BytesIO()
        font.save(out, reorderTables=None)  # in the order written: a PDF reader reads any
    except Exception:  # a program fontTools cannot read or write: not cut down, not shared
        return None
    return out.getvalue()
