"""What a page's content streams name and show: the resources each operator names, and the
character codes each font shows. workers/pdf/separation.py gives each cut document what this
finds, and nothing else, so a code missed here is a glyph missing from a document.

Two readers, one answer. pikepdf's parser reads any content stream; it builds a Python object
for every operand of every text operator, and was half the cost of cutting a combined
conversion (about 20 ms of worker CPU a sample report). LibreOffice writes its content streams
in a small part of PDF's syntax: numbers, names, hex strings, arrays and operators; no literal
strings, dictionaries, comments or inline images. In a stream made only of those, a few regular
expressions find the same operators far faster. The quick reader takes a stream only when it
can account for every occurrence of every operator it looks for (each ``Tf``, ``Tj``, ``TJ``,
``'``, ``"``, ``q``, ``Q`` and resource-naming operator matched in its expected form); for
anything else it answers None and the stream goes to pikepdf's parser. LibreOffice sets the
font before every text it shows (``/F1 12 Tf<0102>Tj``): where each Tf is so followed by its one
show, one expression reads font and text together, with no graphics state to follow (0.58 ->
0.33 ms a page of the sample reports). The tests run the readers on LibreOffice's output and
compare.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

import pikepdf

# The operators that name resources or show text, and the graphics state saves around them.
_OPERATORS = "q Q Tf Tj TJ ' \" Do gs sh scn SCN BDC DP"
# Resource categories a page keeps only the entries of that its content names.
NAMED_BY = {
    "Tf": "/Font",
    "Do": "/XObject",
    "gs": "/ExtGState",
    "sh": "/Shading",
    "scn": "/Pattern",
    "SCN": "/Pattern",
    "BDC": "/Properties",
    "DP": "/Properties",
}
PRUNED = set(NAMED_BY.values())


@dataclass
class Uses:
    """What one page's content names, per resource category, and the codes each font shows."""

    names: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in PRUNED})
    codes: dict[str, set[int]] = field(default_factory=dict)


class TextFromElsewhere(Exception):
    """Text is shown with no font set by the page's own content."""


def page_uses(page: pikepdf.Page, fonts: set[str]) -> Uses:
    """What the page's content names and shows. Raises TextFromElsewhere when text is shown
    with a font the content did not set, or one ``fonts`` (the page's) does not hold."""
    contents = page.obj.get("/Contents")
    streams = contents if isinstance(contents, pikepdf.Array) else [contents]
    data = b"\n".join(
        stream.read_bytes() for stream in streams if isinstance(stream, pikepdf.Stream)
    )
    found = _quick_uses(data, fonts)
    return found if found is not None else _parsed_uses(page, fonts)


def _parsed_uses(page: pikepdf.Page, fonts: set[str]) -> Uses:
    uses = Uses()
    shown: dict[str, bytearray] = {}  # the bytes each font shows: its codes
    font: str | None = None
    saved: list[str | None] = []
    for instruction in pikepdf.parse_content_stream(page, _OPERATORS):
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            saved.append(font)
        elif op == "Q":
            font = saved.pop() if saved else None
        elif op in NAMED_BY:
            names = [item for item in operands if isinstance(item, pikepdf.Name)]
            uses.names[NAMED_BY[op]].update(str(name) for name in names)
            if op == "Tf":
                font = str(operands[0])
                if font not in fonts:
                    raise TextFromElsewhere
                shown.setdefault(font, bytearray())
        elif font is None:
            raise TextFromElsewhere
        elif op == "TJ":
            shown[font] += b"".join(
                bytes(item) for item in operands[0] if isinstance(item, pikepdf.String)
            )
        else:  # Tj, ' and " show their last operand
            shown[font] += bytes(operands[-1])
    uses.codes = {name: set(codes) for name, codes in shown.items()}
    return uses


# -- the quick reader, for LibreOffice's part of the syntax ----------------------------------

# Bytes LibreOffice's streams never hold: literal strings, dictionaries, comments, procedures,
# inline images, escaped characters in names.
_OUTSIDE = (b"(", b"<<", b"%", b"{", b"BI", b"#")
_NAME = rb"/[^\s/\[\]()<>{}%]*"
_NUMBER = rb"[-+]?(?:\d+\.?\d*|\.\d+)"
_END = rb"(?![^\s\[\]<>/])"  # an operator ends where a delimiter or white space starts
# Each operator this reader looks for, in the one form it reads it in. One expression each,
# each starting with a literal, which Python's re finds quickly (one expression with them all
# as alternatives tried each at every byte, and cost more than pikepdf's parser).
_FONT = re.compile(rb"(" + _NAME + rb")\s+" + _NUMBER + rb"\s+Tf" + _END)
# Hex strings without white space (LibreOffice writes none), so that a document's strings
# can be decoded together.
_SHOW = re.compile(rb"<([0-9A-Fa-f]*+)>\s*+(Tj|')" + _END)
_QUOTE = re.compile(rb"<([0-9A-Fa-f]*+)>\s*+\"" + _END)  # after its two numbers
_ARRAY = re.compile(rb"\[([^\[\]]*+)\]\s*+TJ" + _END)
_NAMED = re.compile(rb"((?:" + _NAME + rb"\s*+)++)(Do|gs|sh|scn|SCN|BDC|DP)" + _END)
_SAVE = re.compile(rb"[qQ](?<![^\s\]>][qQ])" + _END)
# LibreOffice sets the font before each text it shows ("/F1 12 Tf<0102>Tj"): where every Tf
# is so followed by the one show it is for, no q, Q or ordering need be followed.
_FONT_THEN_SHOW = re.compile(
    rb"(" + _NAME + rb")\s+" + _NUMBER + rb"\s+Tf\s*+"
    rb"(?:<((?:[0-9A-Fa-f]{2})*+)>\s*+Tj|\[([^\[\]]*+)\]\s*+TJ)" + _END
)
_STRING = re.compile(rb"<([0-9A-Fa-f]*+)>")
_NAMING = (b"Do", b"gs", b"sh", b"scn", b"SCN", b"BDC", b"DP")
_COUNTED = (b"Tf", b"Tj", b"TJ", b"'", b'"', *_NAMING)
_SAVE_FONT, _RESTORE_FONT, _SET_FONT, _SHOW_TEXT = range(4)
_POSITION = operator.itemgetter(0)


def _quick_uses(data: bytes, fonts: set[str]) -> Uses | None:
    """The page's uses, or None when ``data`` is not in the syntax this reader reads whole
    (or shows text in a way pikepdf's parser should judge)."""
    if any(outside in data for outside in _OUTSIDE):
        return None
    # Every operator is counted outside strings (hex digits spell BDC), and each expression
    # runs only on a stream that holds its operators at all: LibreOffice's report pages name
    # no image, graphics state or marked content, and never use ' or ".
    operators = _STRING.sub(b"<>", data)
    present = {op: operators.count(op) for op in _COUNTED}
    if present[b"Tf"] == present[b"Tj"] + present[b"TJ"] and not any(
        present[op] for op in (b"'", b'"', *_NAMING)
    ):
        paired = _fonts_then_shows(data, fonts, present[b"Tf"])
        if paired is not None:
            return paired
    uses = Uses()
    matched = dict.fromkeys(_COUNTED, 0)
    events: list[tuple[int, int, bytes]] = []  # (position, what, operand)
    if present[b"Tf"]:
        for found in _FONT.finditer(data):
            events.append((found.start(), _SET_FONT, found[1]))
        matched[b"Tf"] = len(events)
    if present[b"Tj"] or present[b"'"]:
        for found in _SHOW.finditer(data):
            matched[found[2]] += 1
            events.append((found.start(), _SHOW_TEXT, found[1]))
    if present[b'"']:
        for found in _QUOTE.finditer(data):
            matched[b'"'] += 1
            events.append((found.start(), _SHOW_TEXT, found[1]))
    if present[b"TJ"]:
        for found in _ARRAY.finditer(data):
            matched[b"TJ"] += 1
            events += [(found.start(), _SHOW_TEXT, text) for text in _STRING.findall(found[1])]
    if any(present[op] for op in _NAMING):
        for found in _NAMED.finditer(data):
            op = found[2]
            matched[op] += 1
            uses.names[NAMED_BY[op.decode()]].update(
                "/" + name.strip().decode("latin-1") for name in found[1].split(b"/")[1:]
            )
    saves = [
        (found.start(), _SAVE_FONT if found[0] == b"q" else _RESTORE_FONT, b"")
        for found in _SAVE.finditer(data)
    ]
    if len(saves) != operators.count(b"q") + operators.count(b"Q"):
        return None  # a q or Q inside another token
    if matched != present:
        return None  # an operator in a form this reader does not read
    events += saves
    events.sort(key=_POSITION)
    shown: dict[str, list[bytes]] = {}  # the hex strings each font shows
    font: str | None = None
    saved: list[str | None] = []
    for _, what, operand in events:
        if what == _SHOW_TEXT:
            if font is None or len(operand) % 2:
                return None  # an odd hex string (PDF pads it with a 0): pikepdf's parser
            shown[font].append(operand)
        elif what == _SET_FONT:
            font = operand.decode("latin-1")
            if font not in fonts:
                return None
            uses.names["/Font"].add(font)
            shown.setdefault(font, [])
        elif what == _SAVE_FONT:
            saved.append(font)
        else:
            font = saved.pop() if saved else None
    uses.codes = {
        name: set(bytes.fromhex(b"".join(texts).decode())) for name, texts in shown.items()
    }
    return uses


def _fonts_then_shows(data: bytes, fonts: set[str], count: int) -> Uses | None:
    """The page's uses when each of its ``count`` Tf is followed by the one show it is for
    (and no other operator of ``_COUNTED`` is there), else None."""
    pairs = _FONT_THEN_SHOW.findall(data)
    if len(pairs) != count:
        return None
    shown: dict[bytes, list[bytes]] = {}
    for font, text, array in pairs:
        if array:
            strings = _STRING.findall(array)
            if any(len(string) % 2 for string in strings):
                return None  # an odd hex string (PDF pads it with a 0): pikepdf's parser
            text = b"".join(strings)
        shown.setdefault(font, []).append(text)
    uses = Uses()
    for font, texts in shown.items():
        name = font.decode("latin-1")
        if name not in fonts:
            return None
        uses.names["/Font"].add(name)
        uses.codes[name] = set(bytes.fromhex(b"".join(texts).decode()))
    return uses
