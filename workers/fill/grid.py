"""Word's document grid, rewritten into a form LibreOffice prints the way Word does.

Chinese official documents (GB/T 9704 公文) declare a grid of lines and characters: 22 lines of
28 characters on a 156 mm line. Word says so with ``w:docGrid w:type="linesAndChars"`` and a
negative ``w:charSpace``: every character is set on a pitch of its size plus
``charSpace``/4096 pt, a little narrower than the 三号 type (15.79 pt for 16 pt type).
LibreOffice instead gives each character as many whole grid cells as its glyph needs: a 16 pt
character takes two cells of 15.79 pt, and such a page prints 14 characters a line, headings
and numbers spread over the cells.

So, before conversion, the grid becomes a lines-only grid (the 22 lines stay) and the pitch
becomes character spacing on every run of the paragraphs on the grid, as Word sets it: the
grid's difference, plus what the face that stands in for the template's font lacks of a full
em (Word's Chinese fonts are one em wide; cwTeX 仿宋, which draws Traditional 仿宋 here, is 0.92),
so that a line holds the characters Word puts on it. Paragraphs kept off the grid
(``w:snapToGrid w:val="0"``, as 公文 titles are) keep their own spacing.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
import re
import subprocess

from docx.document import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

from docrender.fonts.substitutes import substitute
from docrender.fonts.template import default_script, theme_faces
from docrender.templates.styles import StyleSheet
from workers.fill.render import stories

_CHARACTER_GRIDS = {"linesAndChars", "snapToChars"}
_DEFAULT_HALF_POINTS = 20  # Word's 10 pt, when no style says a size
_THEME_PART = "/word/theme/theme1.xml"


def fit_character_grid(document: Document) -> bool:
    """Rewrite ``document``'s character grid for LibreOffice; False when it has none."""
    grids = [
        grid
        for section in document.element.body.iter(qn("w:sectPr"))
        if (grid := section.find(qn("w:docGrid"))) is not None
        and grid.get(qn("w:type")) in _CHARACTER_GRIDS
    ]
    if not grids:
        return False
    # The sections share their template's grid; the first one's pitch serves all.
    char_space = _measure(grids[0].get(qn("w:charSpace")), per_point=None) or 0
    for grid in grids:
        grid.set(qn("w:type"), "lines")
        grid.attrib.pop(qn("w:charSpace"), None)
    styles = _Styles(document)
    for story in stories(document):
        for run in list(story.iter(qn("w:r"))):
            paragraph = _paragraph_of(run)
            if paragraph is None or not styles.on_grid(paragraph):
                continue
            east_asian, other = styles.spacing_on_grid(run, paragraph, char_space)
            if east_asian == other:
                _set_spacing(run, east_asian)
                continue
            # The face's correction is for Chinese characters only: digits and Latin letters
            # in the same run keep their own widths.
            for piece, chinese in _split_by_script(run):
                _set_spacing(piece, east_asian if chinese else other)
    return True


class _Styles:
    """What a run's properties resolve to through its styles, as Word resolves them."""

    def __init__(self, document: Document) -> None:
        element = document.styles.element
        self.sheet = StyleSheet(element)
        self.defaults = element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
        self.script = default_script(element)
        theme = next(
            (
                part
                for part in document.part.package.iter_parts()
                if str(part.partname) == _THEME_PART
            ),
            None,
        )
        self.theme = theme_faces(None if theme is None else theme.blob, self.script)

    def on_grid(self, paragraph: etree._Element) -> bool:
        direct = paragraph.find(f"{qn('w:pPr')}/{qn('w:snapToGrid')}")
        if direct is not None:
            return _on(direct)
        for style in self.sheet.chain(self.sheet.paragraph_style(paragraph)):
            snap = style.find(f"{qn('w:pPr')}/{qn('w:snapToGrid')}")
            if snap is not None:
                return _on(snap)
        return True

    def spacing_on_grid(
        self, run: etree._Element, paragraph: etree._Element, char_space: int
    ) -> tuple[int, int]:
        """The run's character spacing on the grid, in twentieths of a point: for its
        Chinese characters, and for the others."""
        layers = self._layers(run, paragraph)
        size = (_measure(_first(layers, "w:sz"), per_point=2) or _DEFAULT_HALF_POINTS) / 2
        own = _measure(_first(layers, "w:spacing"), per_point=20) or 0
        # Word's Chinese fonts are one em wide: what the face drawn here lacks of it.
        missing = size * (1 - _em_advance(self._east_asian_face(layers)))
        # Whole twentieths, rounded down, so a full line still holds as many characters as
        # Word puts on it (28 at 15.79 pt on 156 mm: 15.75 pt each, not 15.8).
        return (
            own + math.floor((char_space / 4096 + missing) * 20),
            own + math.floor(char_space / 4096 * 20),
        )

    def _layers(self, run: etree._Element, paragraph: etree._Element) -> list[etree._Element]:
        """The run's properties, then its character style's, its paragraph style's, the
        document defaults: the first that says a thing decides it."""
        layers = [run.find(qn("w:rPr"))]
        run_style = run.find(f"{qn('w:rPr')}/{qn('w:rStyle')}")
        if run_style is not None:
            layers += [s.find(qn("w:rPr")) for s in self.sheet.chain(run_style.get(qn("w:val")))]
        paragraph_styles = self.sheet.chain(self.sheet.paragraph_style(paragraph))
        layers += [s.find(qn("w:rPr")) for s in paragraph_styles]
        layers.append(self.defaults)
        return [layer for layer in layers if layer is not None]

    def _east_asian_face(self, layers: list[etree._Element]) -> str:
        for layer in layers:
            fonts = layer.find(qn("w:rFonts"))
            if fonts is None:
                continue
            name = fonts.get(qn("w:eastAsia")) or self.theme.get(
                fonts.get(qn("w:eastAsiaTheme")) or "", ""
            )
            if name:
                return substitute(name, self.script).used or name
        return ""


@functools.cache
def _em_advance(family: str) -> float:
    """The advance of 一 in ``family``, in ems (1.0 where unknown)."""
    from fontTools.ttLib import TTCollection, TTFont

    try:
        path = subprocess.run(
            ["fc-match", "--format=%{file}", f"{family}:charset=4e00"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        font = TTCollection(path).fonts[0] if path.endswith(".ttc") else TTFont(path)
        glyph = font.getBestCmap().get(0x4E00)
        return float(font["hmtx"][glyph][0] / font["head"].unitsPerEm) if glyph else 1.0
    except Exception:  # no fontconfig, an unreadable font: no correction
        return 1.0


def _paragraph_of(run: etree._Element) -> etree._Element | None:
    parent = run.getparent()
    while parent is not None and parent.tag != qn("w:p"):
        parent = parent.getparent()
    return parent


def _chinese(character: str) -> bool:
    """Drawn with the East Asian font: everything from the CJK radicals (U+2E80) on, CJK
    punctuation, kana, ideographs and full-width forms among it."""
    return character >= "\u2e80"


def _split_by_script(run: etree._Element) -> list[tuple[etree._Element, bool]]:
    """The run cut into runs of Chinese and of other text (same properties), each with
    whether it is Chinese. A run holding anything but text stays whole."""
    texts = run.findall(qn("w:t"))
    parent = run.getparent()
    if (
        parent is None
        or len(texts) != 1
        or len(run) != len(texts) + (run.find(qn("w:rPr")) is not None)
    ):
        return [(run, True)]
    text = texts[0].text or ""
    pieces = [(chinese, "".join(chars)) for chinese, chars in itertools.groupby(text, key=_chinese)]
    if len(pieces) <= 1:
        return [(run, bool(pieces) and pieces[0][0])]
    runs = []
    for chinese, chars in pieces:
        piece = copy.deepcopy(run)
        (piece_text,) = piece.findall(qn("w:t"))
        piece_text.text = chars
        piece_text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        run.addprevious(piece)
        runs.append((piece, chinese))
    parent.remove(run)
    return runs


def _first(layers: list[etree._Element], tag: str) -> str | None:
    for layer in layers:
        element = layer.find(qn(tag))
        if element is not None and element.get(qn("w:val")) is not None:
            return str(element.get(qn("w:val")))
    return None


# A universal measure (ST_UniversalMeasure): a number and a unit, in points each.
_UNIVERSAL = re.compile(r"^(-?\d+(?:\.\d+)?)(mm|cm|in|pt|pc|pi)$")
_POINTS_PER = {"mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0, "pt": 1.0, "pc": 12.0, "pi": 12.0}
_LIMIT = 1 << 20  # beyond any page: a value past it is not one


def _measure(text: str | None, per_point: int | None) -> int | None:
    """A whole number as the schema writes it, or a universal measure ("12pt") in units of
    1/``per_point`` point (half-points for sizes, twips for spacing; None: numbers only).
    None for anything else: a value Word would not read is ignored, not a failure."""
    if text is None:
        return None
    text = text.strip()
    if re.fullmatch(r"-?\d{1,9}", text):
        value = int(text)
    elif (measure := _UNIVERSAL.match(text)) is not None and per_point is not None:
        value = round(float(measure[1]) * _POINTS_PER[measure[2]] * per_point)
    else:
        return None
    return value if -_LIMIT < value < _LIMIT else None


def _on(element: etree._Element) -> bool:
    return element.get(qn("w:val")) not in ("0", "false", "off")


# Run properties that come after w:spacing in the schema's order.
_AFTER_SPACING = (
    "w:w",
    "w:kern",
    "w:position",
    "w:sz",
    "w:szCs",
    "w:highlight",
    "w:u",
    "w:effect",
    "w:bdr",
    "w:shd",
    "w:fitText",
    "w:vertAlign",
    "w:rtl",
    "w:cs",
    "w:em",
    "w:lang",
    "w:eastAsianLayout",
    "w:specVanish",
    "w:oMath",
)


def _set_spacing(run: etree._Element, value: int) -> None:
    properties = run.find(qn("w:rPr"))
    if properties is None:
        properties = OxmlElement("w:rPr")
        run.insert(0, properties)
    spacing = properties.find(qn("w:spacing"))
    if spacing is None:
        spacing = OxmlElement("w:spacing")
        later = next(
            (found for tag in _AFTER_SPACING if (found := properties.find(qn(tag))) is not None),
            None,
        )
        if later is None:
            properties.append(spacing)
        else:
            later.addprevious(spacing)
    spacing.set(qn("w:val"), str(value))
