"""A template's styles as Word resolves them: a property not said on a paragraph or run comes
from its style, then the style that one is based on, and so on; a paragraph that names no style
has the default paragraph style. The character grid's fitting (workers/fill/grid.py) and the
check that a document's numbered lists cannot count on into the next one's
(workers/convert/batching.py) both follow styles this way.
"""

from __future__ import annotations

from docx.oxml.ns import qn
from lxml import etree

_W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
_DEFAULT_PARAGRAPH = etree.XPath(
    "w:style[@w:type='paragraph' and @w:default='1'][1]/@w:styleId", namespaces=_W
)
_STYLE = etree.XPath("w:style[@w:styleId=$id][last()]", namespaces=_W)


class StyleSheet:
    def __init__(self, styles: etree._Element) -> None:
        """``styles``: the root of the package's styles part (w:styles). Styles are looked up
        as they are asked for: Word writes hundreds, and a document uses a handful."""
        self._styles = styles
        self._by_id: dict[str | None, etree._Element | None] = {}
        found = _DEFAULT_PARAGRAPH(styles)
        self.default_paragraph = str(found[0]) if isinstance(found, list) and found else None

    def style(self, style_id: str | None) -> etree._Element | None:
        """The style of id ``style_id`` (the last, if a package holds it twice), or None."""
        if style_id is None:
            return None
        if style_id not in self._by_id:
            found = _STYLE(self._styles, id=style_id)
            first = found[0] if isinstance(found, list) and found else None
            self._by_id[style_id] = first if isinstance(first, etree._Element) else None
        return self._by_id[style_id]

    def paragraph_style(self, paragraph: etree._Element) -> str | None:
        """The id of the style ``paragraph`` has: the one it names, else the default."""
        style = paragraph.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
        return self.default_paragraph if style is None else style.get(qn("w:val"))

    def chain(self, style_id: str | None) -> list[etree._Element]:
        """The style and those it is based on, nearest first (a loop is followed once)."""
        chain: list[etree._Element] = []
        while (style := self.style(style_id)) is not None and style not in chain:
            chain.append(style)
            based = style.find(qn("w:basedOn"))
            style_id = None if based is None else based.get(qn("w:val"))
        return chain
