"""Which fonts a DOCX asks for, and in which Chinese script its text is written (the forms its
documents print with: its own text's, else its default language's): the font report of a
template upload (and of ``docrender inspect``).

Fonts are named in run and style properties (``w:rFonts``) of the body, headers, footers,
styles and numbering, directly or through the theme (``w:eastAsiaTheme="minorEastAsia"`` ->
the theme's East Asian face for the document's script).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from docx.oxml import parse_xml
from docx.oxml.ns import qn
from lxml import etree

from docrender.fonts.chinese import written_script
from docrender.fonts.substitutes import FontUse, Script, script_of, substitute

_FONT_ATTRIBUTES = ("ascii", "hAnsi", "eastAsia")
_THEME_ATTRIBUTES = ("asciiTheme", "hAnsiTheme", "eastAsiaTheme")
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_MAX_PART_BYTES = 20 * 1024 * 1024


def font_report(docx: bytes, fonts_dir: Path | None = None) -> list[FontUse]:
    """Every font the document names (sorted), with what it will be rendered with: itself
    where the document embeds it or the deployment's fonts directory has it, else its
    substitute."""
    script, names = requested_fonts(docx)
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        embedded = embedded_fonts(package)
    return [
        FontUse(name, name, exact=True, different_style=False, embedded=True)
        if name in embedded
        else substitute(name, script, fonts_dir)
        for name in names
    ]


def embedded_fonts(package: zipfile.ZipFile) -> set[str]:
    """The fonts word/fontTable.xml says the document carries (Word's "Embed fonts in the
    file"): LibreOffice loads and prints with them."""
    try:
        info = package.getinfo("word/fontTable.xml")
    except KeyError:
        return set()
    if info.file_size > _MAX_PART_BYTES:
        return set()
    table = parse_xml(package.read(info))
    return {
        str(font.get(qn("w:name")))
        for font in table.iter(qn("w:font"))
        if any(child.tag in _EMBEDDED for child in font)
    }


_EMBEDDED = {
    qn(f"w:{kind}") for kind in ("embedRegular", "embedBold", "embedItalic", "embedBoldItalic")
}


def requested_fonts(docx: bytes) -> tuple[Script, list[str]]:
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        parts = {name: package.read(name) for name in _font_parts(package)}
    content = [
        parse_xml(xml)
        for name, xml in parts.items()
        if name.startswith(("word/document", "word/header", "word/footer"))
    ]
    styles = parse_xml(parts["word/styles.xml"]) if "word/styles.xml" in parts else None
    # As each document settles its forms from its text (workers/fill/render.py): a template
    # written in Traditional prints with the Traditional faces, whatever its default language.
    text = "".join(t.text or "" for element in content for t in element.iter(qn("w:t")))
    script = written_script(text) or (
        default_script(styles) if styles is not None else Script.SIMPLIFIED
    )
    theme = theme_faces(parts.get("word/theme/theme1.xml"), script)
    # Where fonts are named: the content, and only the styles it uses (Word's default
    # template defines dozens of styles no document shows).
    sources = content + (_used_styles(styles, content) if styles is not None else [])
    names: set[str] = set()
    for element in sources:
        for fonts in element.iter(qn("w:rFonts")):
            names |= {fonts.get(qn(f"w:{a}")) or "" for a in _FONT_ATTRIBUTES}
            names |= {theme.get(fonts.get(qn(f"w:{a}")) or "", "") for a in _THEME_ATTRIBUTES}
    return script, sorted(name for name in names if name.strip())


def _used_styles(styles: Any, content: list[Any]) -> list[Any]:
    """The document defaults, the default styles, the styles the content names, and the
    styles those are based on."""
    by_id = {style.get(qn("w:styleId")): style for style in styles.iter(qn("w:style"))}
    wanted = {sid for sid, style in by_id.items() if style.get(qn("w:default")) == "1"}
    for element in content:
        for tag in ("w:pStyle", "w:rStyle", "w:tblStyle"):
            wanted |= {ref.get(qn("w:val")) for ref in element.iter(qn(tag))}
    used, queue = {}, list(wanted)
    while queue:
        style = by_id.get(queue.pop())
        if style is None or style.get(qn("w:styleId")) in used:
            continue
        used[style.get(qn("w:styleId"))] = style
        for link in ("w:basedOn", "w:link"):
            ref = style.find(qn(link))
            if ref is not None:
                queue.append(ref.get(qn("w:val")))
    defaults = styles.find(qn("w:docDefaults"))
    return [*([defaults] if defaults is not None else []), *used.values()]


def _font_parts(package: zipfile.ZipFile) -> list[str]:
    wanted = []
    for info in package.infolist():
        name = info.filename
        is_part = name in (
            "word/document.xml",
            "word/styles.xml",
            "word/numbering.xml",
            "word/theme/theme1.xml",
        ) or (name.startswith(("word/header", "word/footer")) and name.endswith(".xml"))
        if is_part and info.file_size <= _MAX_PART_BYTES:
            wanted.append(name)
    return wanted


_W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
# The default paragraph style's East Asian language, else the document defaults'.
_DEFAULT_LANGUAGES = [
    etree.XPath(path, namespaces=_W)
    for path in (
        "w:style[@w:type='paragraph' and @w:default='1']/w:rPr/w:lang/@w:eastAsia",
        "w:docDefaults/w:rPrDefault/w:rPr/w:lang/@w:eastAsia",
    )
]


def default_script(styles: Any) -> Script:
    """The script a document's text is written in where its runs do not say (its styles'
    default East Asian language)."""
    return script_of(_default_language(styles))


def _default_language(styles: Any) -> str | None:
    """The East Asian language of the default paragraph style, which overrides the document
    defaults, or else of the document defaults."""
    # XPath, not a walk over every style: Word writes hundreds, and this runs for each document.
    for path in _DEFAULT_LANGUAGES:
        found = path(styles)
        languages = [str(value) for value in found if value] if isinstance(found, list) else []
        if languages:
            return languages[0]
    return None


def theme_faces(theme_xml: bytes | None, script: Script) -> dict[str, str]:
    """Theme references (``minorEastAsia``...) -> the face the theme names for them."""
    if theme_xml is None:
        return {}
    theme = parse_xml(theme_xml)
    faces: dict[str, str] = {}
    script_tag = "Hant" if script is Script.TRADITIONAL else "Hans"
    for kind in ("major", "minor"):
        font = theme.find(f".//{_A}{kind}Font")
        if font is None:
            continue
        latin, east_asian = font.find(f"{_A}latin"), font.find(f"{_A}ea")
        if latin is not None:
            faces[f"{kind}HAnsi"] = faces[f"{kind}Ascii"] = latin.get("typeface", "")
        ea_face = east_asian.get("typeface", "") if east_asian is not None else ""
        for by_script in font.findall(f"{_A}font"):
            if by_script.get("script") == script_tag:
                ea_face = ea_face or by_script.get("typeface", "")
        faces[f"{kind}EastAsia"] = ea_face
    return faces
