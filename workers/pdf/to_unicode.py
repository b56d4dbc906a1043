"""ToUnicode CMaps (PDF 32000-1, 9.10.3): read with bounds, and written for some codes only.

A ToUnicode map tells a reader which text each character code of a font stands for; it is what
text extraction and copying read. Documents cut from one conversion must each carry a map of
only their own codes (workers/pdf/separation.py), and the missing-glyph check reads the maps of
every font LibreOffice embedded, including fonts a template brought: so the reader trusts
nothing it reads. A ``bfrange`` covers at most ``MAX_RANGE`` codes, a map at most ``MAX_CODES``,
and text that is not a character (past U+10FFFF, a lone surrogate) is replaced.
"""

from __future__ import annotations

import re

MAX_CODES = 65_536  # two-byte codes at most; LibreOffice's simple fonts use 256
MAX_RANGE = 256  # a bfrange may not cross a change of its first byte (9.10.3)

_BLOCK = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.S)
_HEX = rb"<([0-9A-Fa-f]{1,8})>"
_CHAR = re.compile(_HEX + rb"\s*<([0-9A-Fa-f]*)>")
_RANGE = re.compile(_HEX + rb"\s*" + _HEX + rb"\s*(?:<([0-9A-Fa-f]*)>|\[([^\]]*)\])")
_ARRAY_ITEM = re.compile(rb"<([0-9A-Fa-f]*)>")

_HEADER = b"""/CIDInit/ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo<<
/Registry (Adobe)
/Ordering (UCS)
/Supplement 0
>> def
/CMapName/Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<00> <FF>
endcodespacerange
"""
_FOOTER = b"""endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""
_PER_BLOCK = 100  # entries per bfchar block (9.10.3: at most 100)


def read(cmap: bytes) -> dict[int, str]:
    """Code -> text of a ToUnicode map. Entries past the bounds are left out."""
    mapping: dict[int, str] = {}
    for kind, block in _BLOCK.findall(cmap):
        if kind == b"bfchar":
            for code, text in _CHAR.findall(block):
                mapping[int(code, 16)] = _text(text)
        else:
            for low, high, start, items in _RANGE.findall(block):
                first, last = int(low, 16), int(high, 16)
                if not 0 <= last - first < MAX_RANGE:
                    continue
                if items:
                    for code, text in zip(
                        range(first, last + 1), _ARRAY_ITEM.findall(items), strict=False
                    ):
                        mapping[code] = _text(text)
                else:
                    base = _text(start)
                    for offset, code in enumerate(range(first, last + 1)):
                        mapping[code] = _shifted(base, offset)
        if len(mapping) > MAX_CODES:
            break
    return dict(sorted(mapping.items())[:MAX_CODES])


def write(mapping: dict[int, str]) -> bytes:
    """A ToUnicode map of one-byte codes (a simple font's) for ``mapping``, as LibreOffice
    writes them: ``bfchar`` entries only."""
    return write_entries(list(entries(mapping).values()))


def entries(mapping: dict[int, str]) -> dict[int, bytes]:
    """Each one-byte code's ``bfchar`` entry, in code order: made once for a font whose map
    is written for several documents' codes."""
    return {
        code: b"<%02X> <%s>" % (code, text.encode("utf-16-be").hex().upper().encode())
        for code, text in sorted(mapping.items())
        if 0 <= code <= 0xFF
    }


def write_entries(kept: list[bytes]) -> bytes:
    """A ToUnicode map of ``kept`` entries (from ``entries``), in their order."""
    blocks = []
    for start in range(0, len(kept), _PER_BLOCK):
        chunk = kept[start : start + _PER_BLOCK]
        blocks.append(b"%d beginbfchar\n%s\nendbfchar\n" % (len(chunk), b"\n".join(chunk)))
    return _HEADER + b"".join(blocks) + _FOOTER


def _text(hex_text: bytes) -> str:
    if len(hex_text) % 2:
        hex_text += b"0"
    return bytes.fromhex(hex_text.decode()).decode("utf-16-be", errors="replace")


def _shifted(text: str, offset: int) -> str:
    """``text`` with its last character moved on by ``offset`` (a bfrange's later codes)."""
    if not text:
        return ""
    last = ord(text[-1]) + offset
    if last > 0x10FFFF or 0xD800 <= last <= 0xDFFF:
        return text[:-1] + "\ufffd"
    return text[:-1] + chr(last)
