"""A template's styles as Word resolves them: a property not said on a paragraph or run comes
from its style, then the style that one is based on, and so on; a paragraph that names no style
has the default paragraph style. The character grid's fitting (workers/fill/grid.py) and the
check that a document's numbered lists cannot count on into the next one's
(workers/convert/batching.py) both follow styles this way.
"""

from __future__ import annotations

from docx.oxml.ns import qn
from lxml import etree


class StyleSheet:
    def __init__(self, styles: etree._Element) -> None:
        """``styles``: the root of the package's styles part (w:styles)."""
        self.by_id = {style.get(qn("w:styleId")): style for style in styles.iter(qn("w:style"))}
        self.default_paragraph = next(
            (
                style_id
                for style_id, style in self.by_id.items()
                if style.get(qn("w:type")) == "paragraph" and style.get(qn("w:default")) == "1"
            ),
            None,
        )

    def paragraph_style(self, paragraph: etree._Element) -> str | None:
        """The id of the style ``paragraph`` has: the one it names, else the default."""
        style = paragraph.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
        return self.default_paragraph if style is None else style.get(qn("w:val"))

    def chain(self, style_id: str | None) -> list[etree._Element]:
        """The style and those it is based on, nearest first (a loop is followed once)."""
        chain: list[etree._Element] = []
        while style_id in self.by_id and self.by_id[style_id] not in chain:
            chain.append(self.by_id[style_id])
            based = self.by_id[style_id].find(qn("w:basedOn"))
            style_id = None if based is None else based.get(qn("w:val"))
        return chain
