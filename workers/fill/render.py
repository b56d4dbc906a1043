"""Fill a DOCX template with one document's data (docxtpl, sandboxed Jinja)."""

from __future__ import annotations

import contextlib
import io
import re
import signal
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jinja2
from docx.document import Document
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docxtpl import DocxTemplate
from lxml import etree

from docrender.errors import RenderFailed
from docrender.fonts.chinese import holds_chinese, written_script
from docrender.fonts.substitutes import Script, word_language
from docrender.fonts.template import default_script
from docrender.i18n import Message, _
from docrender.templates.filters import FilterError
from docrender.templates.package_check import check_filled
from docrender.templates.tags import (
    ENVIRONMENT_OPTIONS,
    CompilingOnceSandbox,
    failure_location,
)
from workers.fill import templates
from workers.fill.images import ImageLimits, swap_in_svgs
from workers.fill.values import prepare_values

# Characters XML 1.0 cannot hold (controls but tab and line breaks, lone surrogates,
# non-characters). They would make the DOCX invalid, so they are dropped from the data. Two
# controls are kept, for docxtpl turns them into what they mean in the text of a document:
# \a (BEL) a new paragraph, \f (form feed) a page break.
_NOT_XML = re.compile("[\x00-\x06\x08\x0b\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# One per worker process, so that each template part is compiled once, not per document.
_ENVIRONMENT = CompilingOnceSandbox(**ENVIRONMENT_OPTIONS)


class RenderTimeout(Exception):
    pass


def docx_bytes(document: Document) -> bytes:
    # python-docx's save: docxtpl's own save only adds replace_pic/replace_media, unused here.
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def conversion_bytes(document: Document) -> bytes:
    """The filled DOCX as handed to LibreOffice: what python-docx's save writes, its members
    stored rather than deflated. It goes to a local file and is read once; deflating a sample
    report's 800 KB of XML cost 5 ms a document and bought nothing."""
    package = document.part.package
    for part in package.parts:
        part.before_marshal()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        stored = _StoredMembers(archive)
        # python-docx's own package writing (its save), into this archive (python-docx pinned;
        # its private writers are untyped, and take any object with write()).
        PackageWriter._write_content_types_stream(stored, package.parts)  # type: ignore[no-untyped-call]
        PackageWriter._write_pkg_rels(stored, package.rels)  # type: ignore[no-untyped-call]
        PackageWriter._write_parts(stored, package.parts)  # type: ignore[arg-type]
    return out.getvalue()


class _StoredMembers:
    """python-docx's physical package writer, over an archive that stores its members."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive

    def write(self, name: PackURI, blob: bytes) -> None:
        self._archive.writestr(name.membername, blob)


def fill_template(
    template: bytes,
    data: dict[str, Any],
    timeout_seconds: float = 30,
    language: str = "",
    read_file: Callable[[str], bytes | None] = lambda name: None,
    image_limits: ImageLimits | None = None,
) -> Document:
    """The filled document, not yet saved (several can be combined before one conversion).
    ``language`` ("zh-TW"...) replaces the template's default East Asian language;
    ``read_file`` gives the files uploaded with the job, for images that name one.
    A template, data or image problem raises RenderFailed, parts the filling made that
    must not reach LibreOffice UnsafeTemplate (both permanent)."""
    document = templates.open_copy(template)
    svgs: dict[bytes, bytes] = {}
    values = prepare_values(
        document, xml_safe(data), read_file, image_limits or ImageLimits(), svgs
    )
    try:
        with _deadline(timeout_seconds):
            document.render(values, jinja_env=_ENVIRONMENT)
    except RenderTimeout:
        raise RenderFailed(
            _(
                "Filling the template took longer than %(seconds)ss; look for loops that run "
                "far more often than the data needs.",
                seconds=f"{timeout_seconds:g}",
            )
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderFailed(
            _(
                "The template tried something the sandbox forbids (%(exc)s); remove that tag.",
                exc=exc,
            ),
        ) from None
    except etree.XMLSyntaxError:
        # A page break (\f) or new paragraph (\a) where the template prints a value outside
        # the text of a paragraph (an attribute, a field code) cannot be written there.
        raise RenderFailed(
            _(
                "A value holds a page break (\\f) or paragraph break (\\a) where the template "
                "cannot print one (outside the text of a paragraph); remove it from that value."
            ),
        ) from None
    except Exception as exc:
        # Whatever this document's data makes a tag raise (a division by zero, a filter
        # given a word for a number, a missing key...) fails this document alone, saying
        # where: the other documents of the job go on.
        raise _failure(exc, document, data) from None
    swap_in_svgs(document.docx, svgs)
    wrap_loose_runs(document.docx)
    check_filled(document.docx.part.package)
    if language:
        set_default_language(document.docx, language)
    filled: Document = document.docx
    return filled


def _failure(error: Exception, document: DocxTemplate, data: dict[str, Any]) -> RenderFailed:
    """What went wrong and where. A value of the data that a filter could not read is named
    by its column (a sheet's header, the value's path in JSON: ``facts.2.value``) and said
    with what to type instead, the words a clerk acts on; where the template read it (tag,
    part, paragraph) goes in the details, for the template's author."""
    place = _template_place(error, document)
    details: dict[str, Any] = dict(place or {})
    column = None
    if isinstance(error, FilterError) and error.value is not None:
        column = next(iter(value_paths(data, error.value)), None)
    if column is None or not isinstance(error, FilterError):
        return RenderFailed(_failure_message(error, place), details or None)
    shown = str(error.value) if len(str(error.value)) <= 40 else f"{str(error.value)[:39]}…"
    details |= {"column": column, "value": shown}
    if error.expected == "date":
        text = _(
            "“%(column)s”: “%(value)s” is not a date; type one such as 2012/5/1 or 2012年5月1日.",
            column=column,
            value=shown,
        )
    elif error.expected == "number":
        text = _(
            "“%(column)s”: “%(value)s” is not a number; type digits alone, such as 1234.5.",
            column=column,
            value=shown,
        )
    else:
        text = _(
            "“%(column)s”: “%(value)s” cannot be printed: %(reason)s.",
            column=column,
            value=shown,
            reason=error.text,
        )
    return RenderFailed(text, details)


def value_paths(data: Any, value: Any, path: str = "") -> Iterator[str]:
    """The paths of ``data`` that hold ``value``, as a sheet's headers name them (keys joined
    by dots, list items counted from 1: ``facts.2.value``)."""
    if isinstance(data, dict):
        items: Iterable[tuple[str, Any]] = ((str(key), item) for key, item in data.items())
    elif isinstance(data, list):
        items = ((str(number), item) for number, item in enumerate(data, 1))
    else:
        if type(data) is type(value) and data == value:
            yield path
        return
    for key, item in items:
        yield from value_paths(item, value, f"{path}.{key}" if path else key)


def _template_place(error: Exception, document: DocxTemplate) -> dict[str, str] | None:
    """Where in the template ``error`` was raised: the tag, the part, the paragraph."""
    part = getattr(document, "current_rendering_part", None)
    found = failure_location(error, _ENVIRONMENT.last_source) if part is not None else None
    if found is None or part is None:
        return None
    tags, paragraph = found
    return {
        "tag": " ".join(tags),
        "part": str(part.partname).lstrip("/"),
        "paragraph": paragraph if len(paragraph) <= 60 else paragraph[:57] + "...",
    }


def _failure_message(error: Exception, place: dict[str, str] | None) -> Message:
    """What went wrong and where, for the template's author."""
    reason: Message | str
    if isinstance(error, FilterError):
        reason = error.text
    elif isinstance(error, jinja2.TemplateError):
        reason = str(error)
        called = _MISSING_ATTRIBUTE.search(reason)
        if called is not None and called[1] in _HINTS:
            reason = _("%(error)s (%(hint)s)", error=reason, hint=_HINTS[called[1]])
    elif isinstance(error, ZeroDivisionError):
        reason = _("division by zero")
    else:
        kind = _REASONS.get(type(error), type(error).__name__)
        reason = _("%(kind)s: %(error)s", kind=kind, error=str(error)) if str(error) else kind
    if place is None:
        return _(
            "The template could not be filled with this document's data: %(reason)s.",
            reason=reason,
        )
    return _(
        '%(reason)s in %(tag)s (%(part)s, paragraph "%(paragraph)s"); check this document\'s '
        "data for the values that tag reads.",
        reason=reason,
        tag=place["tag"] or _("a tag"),
        part=place["part"],
        paragraph=place["paragraph"],
    )


# Methods docxtpl users' templates call that values from JSON or a sheet do not have, and what
# to write instead.
_MISSING_ATTRIBUTE = re.compile(r"has no attribute '(\w+)'")
_HINTS = {
    "strftime": _(
        "a date in the data is text: format it with the date filter instead, such as "
        '{{ day|date("%Y年%-m月%-d日") }}'
    ),
    "iteritems": _(
        "iteritems() is Python 2's: loop over items() instead, such as "
        "{% for key, value in scores.items() %}"
    ),
}

_REASONS = {
    TypeError: _("wrong kind of value"),
    KeyError: _("no such key"),
    IndexError: _("no such item"),
    AttributeError: _("no such attribute"),
    OverflowError: _("number too large"),
    ValueError: _("bad value"),
}


def settle_language(document: Document, job_language: str | None) -> str:
    """The Chinese forms the filled document prints with, "zh-Hans" or "zh-Hant": the job's
    language (already its default); else the one its text is written in, which becomes its
    default; else the template's default (Simplified where it says none). A language an
    author set on a run of text stays, whatever is decided here."""
    default = default_script(document.styles.element)
    if not job_language:
        script = written_script(text_of(document))
        if script is not None and script is not default:
            set_default_language(document, word_language(LANGUAGE_TAGS[script]) or "")
            default = script
    return LANGUAGE_TAGS[default]


LANGUAGE_TAGS = {Script.SIMPLIFIED: "zh-Hans", Script.TRADITIONAL: "zh-Hant"}


def text_of(document: Document) -> str:
    """The text of every story of ``document``, run after run."""
    return "".join(t.text or "" for story in stories(document) for t in story.iter(qn("w:t")))


def stories(document: Document) -> list[Any]:
    """The parts of a document that hold its text: the body, headers and footers."""
    parts = [document.element.body]
    for rel in document.part.rels.values():
        if not rel.is_external and rel.reltype.endswith(("/header", "/footer")):
            parts.append(rel.target_part.element)
    return parts


def set_default_language(document: Document, language: str) -> None:
    """Make ``language`` the East Asian language of the document defaults and of every style
    (the template's defaults); a language set on a run of text by its author stays. The
    language picks the glyph forms of the mapped Chinese faces (docrender/fonts/substitutes.py).
    The styles so settled are made once per template and language (workers/fill/templates.py)."""
    templates.settle_styles(
        document, language, lambda settled: _write_default_language(settled, language)
    )


def _write_default_language(document: Document, language: str) -> None:
    styles = document.styles.element
    run_properties = [styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")]
    run_properties += [
        style.get_or_add_rPr()
        for style in styles.iter(qn("w:style"))
        if style.get(qn("w:type")) in ("paragraph", "character")
    ]
    for properties in filter(lambda p: p is not None, run_properties):
        lang = properties.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            properties.append(lang)
        lang.set(qn("w:eastAsia"), language)


def prepare_for_readers(document: Document, name: str, language: str) -> None:
    """What a PDF/UA file needs that Word templates often lack, where LibreOffice reads it
    from: a title (the template's, else the document's name), and, for a document written in
    Chinese, Chinese (``language``'s forms) as its language: a template made in English Word
    says en-US, and a screen reader would read its Chinese text as English."""
    properties = document.core_properties
    if not (properties.title or "").strip():
        properties.title = name
    if not holds_chinese(text_of(document)):
        return
    tag = word_language(language) or language
    templates.own_styles(document)
    styles = document.styles.element
    defaults = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if defaults is not None and defaults.find(qn("w:lang")) is None:
        defaults.append(OxmlElement("w:lang"))
    for lang in styles.iter(qn("w:lang")):
        lang.set(qn("w:val"), tag)


# Where only paragraphs and tables may stand: a run there is not text of any paragraph.
_BLOCK_CONTAINERS = ("w:body", "w:tc", "w:hdr", "w:ftr", "w:txbxContent")
_RUN_LIKE = frozenset({qn("w:r"), qn("w:hyperlink")})


def wrap_loose_runs(document: Document) -> None:
    """Give runs standing outside any paragraph one of their own: a rich value printed by a
    ``{{p x }}`` tag (docxtpl replaces the tag's paragraph with the value, and rich text is
    runs). LibreOffice drops such runs without a word, and Word may refuse the file; wrapped,
    each rich value prints as a paragraph."""
    for story in stories(document):
        for container in story.iter(*(qn(tag) for tag in _BLOCK_CONTAINERS)):
            loose: list[Any] = []
            for child in list(container):
                if child.tag in _RUN_LIKE:
                    loose.append(child)
                    continue
                _wrap(loose)
                loose = []
            _wrap(loose)


def _wrap(runs: list[Any]) -> None:
    if not runs:
        return
    paragraph = OxmlElement("w:p")
    runs[0].addprevious(paragraph)
    paragraph.extend(runs)


def xml_safe(value: Any) -> Any:
    """The data with characters XML cannot hold removed, at every depth."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {xml_safe(k): xml_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xml_safe(item) for item in value]
    return value


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt a runaway render (nested loops over huge ranges) with SIGALRM. Only the main
    thread receives signals, which is where Celery's prefork children run tasks."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise RenderTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
