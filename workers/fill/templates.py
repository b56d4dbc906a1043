"""Each template opened once per worker process, and copied for each document filled from it.

Opening the sample report template costs about 10 ms of CPU (python-docx parses every part of
the package; its styles part alone is 350 KB of XML, as Word writes it), and a job fills the
same template for every document. A deep copy of the opened document costs nearly as much,
almost all of it copying the styles, which filling a document does not change. So a copy
shares the template's styles element (under 1 ms for the sample report), and the few steps
that do write styles call ``own_styles`` first, which gives the document a copy of its own:
the default language settled from the text (one copy per template and language, shared in
turn, since the result depends on nothing else), the language a PDF/UA file declares, an
annex's styles merged in.

docxtpl also rewrites each part's XML before handing it to Jinja (``patch_xml``: some twenty
regular expression passes over the whole part, the same text in, the same text out, for every
document of a template); that is done once per part's text too.

What is shared is never written: tests/workers/fill/test_templates.py fills documents through
every writer and compares the template's styles with a freshly opened one.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from docx.document import Document
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.styles import StylesPart
from docxtpl import DocxTemplate

from docrender.templates.tags import open_template

CAPACITY = 8  # templates kept opened per worker process
_PATCHED_MAX_CHARS = 1 << 20  # a part's XML kept patched, at most (larger: patched each time)


@dataclass
class _Opened:
    template: Document  # never filled, never written
    styles: BaseOxmlElement | None  # the styles element the copies share
    # The styles with a default language set, per language: shared as well.
    settled: dict[str, BaseOxmlElement] = field(default_factory=dict)


_OPENED: OrderedDict[bytes, _Opened] = OrderedDict()
# Shared styles element (by id) -> what it was opened as, while it is kept.
_SHARED: dict[int, _Opened] = {}


def open_copy(data: bytes) -> DocxTemplate:
    """A docxtpl template of ``data``'s own, to fill once (raises what ``open_template``
    raises for bytes that are not a template)."""
    key = hashlib.sha256(data).digest()
    opened = _OPENED.get(key)
    if opened is None:
        template = open_template(data).docx
        styles_part = _styles_part(template)
        styles = styles_part._element if styles_part is not None else None
        opened = _OPENED[key] = _Opened(template, styles)
        if styles is not None:
            _SHARED[id(styles)] = opened
        while len(_OPENED) > CAPACITY:
            _, evicted = _OPENED.popitem(last=False)
            for element in [evicted.styles, *evicted.settled.values()]:
                _SHARED.pop(id(element), None)
    _OPENED.move_to_end(key)
    memo = {id(element): element for element in [opened.styles, *opened.settled.values()]}
    filled = _Template(io.BytesIO(data))
    filled.docx = copy.deepcopy(opened.template, memo)
    return filled


class _Template(DocxTemplate):  # type: ignore[misc]
    """docxtpl's template, with each part's patched XML kept per worker process."""

    def patch_xml(self, src_xml: str) -> str:
        if len(src_xml) > _PATCHED_MAX_CHARS:
            return str(super().patch_xml(src_xml))
        return _patched(src_xml)


@functools.lru_cache(maxsize=4 * CAPACITY)
def _patched(src_xml: str) -> str:
    return str(DocxTemplate.patch_xml(None, src_xml))  # docxtpl's patch_xml never reads self


def own_styles(document: Document) -> None:
    """Give ``document`` a styles element of its own, if it shares one, before writing it."""
    part = _styles_part(document)
    if part is not None and id(part._element) in _SHARED:
        part._element = copy.deepcopy(part._element)


def settle_styles(document: Document, language: str, write: Callable[[Document], None]) -> None:
    """Apply ``write``, which sets ``language`` as the default language of ``document``'s
    styles, through a copy made once per template and language and shared by every document
    settled to it."""
    part = _styles_part(document)
    opened = _SHARED.get(id(part._element)) if part is not None else None
    if part is None or opened is None or part._element is not opened.styles:
        own_styles(document)
        write(document)
        return
    settled = opened.settled.get(language)
    if settled is None:
        part._element = copy.deepcopy(part._element)
        write(document)
        settled = opened.settled[language] = part._element
        _SHARED[id(settled)] = opened
    part._element = settled


def _styles_part(document: Document) -> StylesPart | None:
    """The package's styles part, or None (python-docx would add a default one on reading)."""
    for rel in document.part.rels.values():
        if not rel.is_external and isinstance(rel.target_part, StylesPart):
            return rel.target_part
    return None
