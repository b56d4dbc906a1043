"""Fonts embedded in a DOCX as Word embeds them: a TrueType program, obfuscated with the key
named in word/fontTable.xml (ECMA-376 Part 1, 17.8.1), for tests of what a tenant's own font
may and may not change."""

from __future__ import annotations

import io
import uuid
import zipfile

from fontTools.ttLib import TTFont

FONT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/font"
CALADEA = "/usr/share/fonts/truetype/crosextra/Caladea-Regular.ttf"


def font_drawing_nine_for_zero(family: str, source: str = CALADEA) -> bytes:
    """A TrueType font named ``family`` whose 0 is drawn with the glyph of 9: text that says 0
    prints 9, so a PDF shows whose font program drew it."""
    return renamed_font(family, source, nine_for_zero=True)


def renamed_font(family: str, source: str = CALADEA, nine_for_zero: bool = False) -> bytes:
    """The TrueType font ``source`` under the name ``family`` (every name record of it)."""
    font = TTFont(source)
    for table in font["cmap"].tables if nine_for_zero else ():
        if ord("0") in table.cmap and ord("9") in table.cmap:
            table.cmap[ord("0")] = table.cmap[ord("9")]
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = family.replace(" ", "")
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def obfuscate(font: bytes, key: uuid.UUID) -> bytes:
    """Word's obfuscation: the first 32 bytes XORed with the key's bytes, last byte first."""
    mask = bytes.fromhex(key.hex)[::-1]
    head = bytes(b ^ mask[i % 16] for i, b in enumerate(font[:32]))
    return head + font[32:]


def embed_font(docx: bytes, family: str, font: bytes) -> bytes:
    """``docx`` with ``font`` embedded as the regular face of ``family``."""
    key = uuid.uuid4()
    source = zipfile.ZipFile(io.BytesIO(docx))
    entry = (
        f'<w:font w:name="{family}"><w:embedRegular r:id="rIdEmbedded1" '
        f'w:fontKey="{{{str(key).upper()}}}"/></w:font>'
    ).encode()
    rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rIdEmbedded1" Type="{FONT_REL}" Target="fonts/font1.odttf"/>'
        "</Relationships>"
    ).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/fontTable.xml":
                if b"xmlns:r=" not in data:
                    data = data.replace(
                        b"<w:fonts ",
                        b'<w:fonts xmlns:r="http://schemas.'
                        b'openxmlformats.org/officeDocument/2006/relationships" ',
                        1,
                    )
                data = data.replace(b"</w:fonts>", entry + b"</w:fonts>")
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Default Extension="odttf" ContentType="'
                    b"application/vnd.openxmlformats-officedocument."
                    b'obfuscatedFont"/></Types>',
                )
            archive.writestr(item, data)
        archive.writestr("word/_rels/fontTable.xml.rels", rels)
        archive.writestr("word/fonts/font1.odttf", obfuscate(font, key))
    return out.getvalue()
