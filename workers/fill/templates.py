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

Both caches are bounded by size, not by count, since one process serves every tenant: the
opened templates by their packages' unpacked bytes (an opened template takes a few times that
in memory), the patched parts by characters. A tenant cycling through large templates can
only evict the others' (they are opened again, at the cost of a document each), never grow the
process. A template larger than the whole bound is opened for each document, as is a part
larger than a patched part may be. Templates are told apart by their bytes' SHA-256, computed
once for the bytes object a task fills all its documents from.
"""

from __future__ import annotations

import copy
import hashlib
import io
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from docx.document import Document
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.parts.styles import StylesPart
from docxtpl import DocxTemplate

from docrender.templates.tags import open_template

OPENED_MAX_BYTES = 64 << 20  # unpacked package bytes of the templates kept opened
PATCHED_MAX_CHARS = 8 << 20  # characters of patched part XML kept (keys and values)


@dataclass
class _Opened:
    template: Document  # never filled, never written
    styles: BaseOxmlElement | None  # the styles element the copies share
    size: int  # the package's unpacked bytes
    # The styles with a default language set, per language: shared as well.
    settled: dict[str, BaseOxmlElement] = field(default_factory=dict)


_OPENED: OrderedDict[bytes, _Opened] = OrderedDict()
# Shared styles element (by id) -> what it was opened as, while it is kept.
_SHARED: dict[int, _Opened] = {}
_last_digest: tuple[bytes, bytes] = (b"", hashlib.sha256(b"").digest())


def open_copy(data: bytes) -> DocxTemplate:
    """A docxtpl template of ``data``'s own, to fill once (raises what ``open_template``
    raises for bytes that are not a template)."""
    key = _digest(data)
    opened = _OPENED.get(key)
    if opened is None:
        template = open_template(data).docx
        styles_part = _styles_part(template)
        styles = styles_part._element if styles_part is not None else None
        opened = _Opened(template, styles, _unpacked_size(data))
        if opened.size <= OPENED_MAX_BYTES:
            _keep(key, opened)
    else:
        _OPENED.move_to_end(key)
    memo = {id(element): element for element in [opened.styles, *opened.settled.values()]}
    filled = _Template(io.BytesIO(data))
    filled.docx = copy.deepcopy(opened.template, memo)
    return filled


def _digest(data: bytes) -> bytes:
    """SHA-256 of ``data``, once per bytes object (a task passes one for all its documents;
    the reference kept here means its id cannot be reused while it is compared)."""
    global _last_digest
    if data is not _last_digest[0]:
        _last_digest = (data, hashlib.sha256(data).digest())
    return _last_digest[1]


def _unpacked_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return sum(member.file_size for member in package.infolist())


def _keep(key: bytes, opened: _Opened) -> None:
    _OPENED[key] = opened
    if opened.styles is not None:
        _SHARED[id(opened.styles)] = opened
    while sum(kept.size for kept in _OPENED.values()) > OPENED_MAX_BYTES:
        _, evicted = _OPENED.popitem(last=False)
        for element in [evicted.styles, *evicted.settled.values()]:
            _SHARED.pop(id(element), None)


class _Template(DocxTemplate):  # type: ignore[misc]
    """docxtpl's template, with each part's patched XML kept per worker process, and parts
    without line or page breaks in their text left as they are."""

    def patch_xml(self, src_xml: str) -> str:
        patched = _PATCHED.get(src_xml)
        if patched is None:
            patched = str(super().patch_xml(src_xml))
            if 2 * len(src_xml) <= PATCHED_MAX_CHARS:
                _PATCHED[src_xml] = patched
                while sum(len(k) + len(v) for k, v in _PATCHED.items()) > PATCHED_MAX_CHARS:
                    _PATCHED.popitem(last=False)
        else:
            _PATCHED.move_to_end(src_xml)
        return patched

    def resolve_listing(self, xml: str) -> str:
        r"""docxtpl turns tabs, ``\a``, ``\n`` and ``\f`` in text into tabs, paragraphs,
        breaks and pages with regular expressions over every paragraph and run of the part; a
        part holding none of them comes out of that unchanged, so it is not walked (0.65 ms a
        sample report, whose parts hold none)."""
        if not any(character in xml for character in "\t\a\n\f"):
            return xml
        return str(super().resolve_listing(xml))


_PATCHED: OrderedDict[str, str] = OrderedDict()


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
