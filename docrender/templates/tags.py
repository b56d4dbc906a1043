"""The Jinja side of a DOCX template, shared by the API (inspect at upload) and the workers
(render). Both use the same sandboxed environment, so what the API accepts is what a worker
can render.
"""

from __future__ import annotations

import collections
import difflib
import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

import jinja2
from docx.oxml import parse_xml
from docxtpl import DocxTemplate
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from docrender.errors import (
    InvalidTemplate,
    TemplateSyntaxError,
    TemplateTooComplex,
    UnsupportedFileType,
)
from docrender.i18n import Message, _
from docrender.templates.filters import REPORT_FILTERS
from docrender.templates.package_check import check_package

# Core properties docxtpl renders as templates too (see DocxTemplate.render_properties).
_RENDERED_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")
_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_TAG = re.compile(r"\{[{%#].*?[}%#]\}")
_XML_TAG = re.compile(r"<[^>]+>")


# Results a template may build with * or ** before the sandbox stops it (memory, not taste).
MAX_REPEATED_LENGTH = 1_000_000
MAX_POWER_EXPONENT = 1_000


# Autoescape: data is text, never WordprocessingML. ChainableUndefined: a missing value (or
# missing nested key) renders empty instead of failing the document.
ENVIRONMENT_OPTIONS: dict[str, Any] = {"autoescape": True, "undefined": jinja2.ChainableUndefined}


class LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with the report filters (docrender/templates/filters.py), plus limits on the
    operators that build huge values in one step: ``"x" * 10**9`` or ``10 ** 10**6`` fail the
    document instead of the worker's memory."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters.update(REPORT_FILTERS)
        self.filters.update(_capped_filters(self.filters))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeats = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeats and len(seq) * times > MAX_REPEATED_LENGTH:
                    raise SecurityError(
                        f"repeating a value {times} times exceeds {MAX_REPEATED_LENGTH} items"
                    )
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_POWER_EXPONENT:
            raise SecurityError(f"an exponent over {MAX_POWER_EXPONENT}")
        return super().call_binop(context, operator, left, right)


def _capped_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """Jinja's filters that can build a value far larger than their input in one step, each
    refusing (before it builds anything) a result over MAX_REPEATED_LENGTH: ``center(3e8)``,
    ``indent(3e8)``, ``replace`` that multiplies, ``join`` of a giant list, ``format`` with a
    giant width, ``wordwrap`` with a giant break."""
    filters = dict(filters)  # Jinja's own, which the capped ones call

    def cap(name: str, size: int) -> None:
        if size > MAX_REPEATED_LENGTH:
            raise SecurityError(
                f"|{name} would build {size} characters, over {MAX_REPEATED_LENGTH}"
            )

    def center(value: Any, width: int = 80) -> Any:
        cap("center", max(len(str(value)), int(width)))
        return filters["center"](value, width)

    def indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> Any:
        text = str(value)
        pad = len(width) if isinstance(width, str) else int(width)
        cap("indent", len(text) + pad * (text.count("\n") + 1))
        return filters["indent"](value, width, first, blank)

    def replace(eval_ctx: Any, value: Any, old: Any, new: Any, count: Any = None) -> Any:
        text, old, new = str(value), str(old), str(new)
        times = text.count(old) if old else len(text) + 1
        if count is not None:
            times = min(times, int(count))
        cap("replace", len(text) + times * max(len(new) - len(old), 0))
        return filters["replace"](eval_ctx, value, old, new, count)

    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = list(value)
        cap("join", sum(len(str(item)) for item in items) + len(str(d)) * len(items))
        return filters["join"](eval_ctx, items, d, attribute)

    def format(value: Any, *args: Any, **kwargs: Any) -> Any:
        widths = [int(w) for w in re.findall(r"%[-+ #0]*(\d+)", str(value))]
        widths += [int(w) for w in re.findall(r"\.(\d+)", str(value))]
        cap("format", len(str(value)) + sum(widths))
        return filters["format"](value, *args, **kwargs)

    def wordwrap(environment: Any, s: Any, width: int = 79, *args: Any, **kwargs: Any) -> Any:
        wrapstring = kwargs.get("wrapstring") or (args[1] if len(args) > 1 else "\n") or "\n"
        cap("wordwrap", len(str(s)) * (1 + len(str(wrapstring))))
        return filters["wordwrap"](environment, s, width, *args, **kwargs)

    replace.jinja_pass_arg = filters["replace"].jinja_pass_arg  # type: ignore[attr-defined]
    join.jinja_pass_arg = filters["join"].jinja_pass_arg  # type: ignore[attr-defined]
    wordwrap.jinja_pass_arg = filters["wordwrap"].jinja_pass_arg  # type: ignore[attr-defined]
    return {
        "center": center,
        "indent": indent,
        "replace": replace,
        "join": join,
        "format": format,
        "wordwrap": wordwrap,
    }


class CompilingOnceSandbox(LimitedSandbox):
    """The same sandbox, remembering compiled templates by their source. docxtpl hands the
    environment the patched XML of each part for every document; for the documents of one
    template that source is the same, so Jinja compiles it once instead of per document.
    It also remembers the source it was last handed, so that an error raised while rendering
    can name the tag and paragraph it came from (``failure_location``)."""

    last_source: str = ""

    @functools.lru_cache(maxsize=128)  # noqa: B019 (one long-lived environment per process)
    def _compile_source(self, source: str) -> jinja2.Template:
        return super().from_string(unescape_tags(source))

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals is None and template_class is None and isinstance(source, str):
            self.last_source = source
            return self._compile_source(source)
        return super().from_string(source, globals, template_class)


_IN_TAG = re.compile(r"(?<=\{[{%])(.*?)(?=[}%]\})", re.S)


def unescape_tags(source: str) -> str:
    """The XML entities inside Jinja tags as the characters they stand for, so that a string
    literal such as ``default('R&D')`` (written ``R&amp;D`` in the DOCX's XML) is ``R&D`` to
    Jinja, which escapes it once on output. (docxtpl already does this for < > and quotes.)"""
    return _IN_TAG.sub(
        lambda tag: (
            tag.group(0).replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")
        ),
        source,
    )


def failure_location(error: BaseException, source: str) -> tuple[list[str], str] | None:
    """The tags and the text of the paragraph of ``source`` (a part as rendered: one
    paragraph a line) where ``error`` was raised while rendering, from the template frames
    Jinja puts in its traceback; None when it cannot be told."""
    lineno = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            lineno = trace.tb_lineno
        trace = trace.tb_next
    lines = source.splitlines()
    if lineno is None or not 0 < lineno <= len(lines):
        return None
    paragraph = _XML_TAG.sub("", lines[lineno - 1]).strip()
    return _TAG.findall(paragraph), paragraph


def make_environment() -> SandboxedEnvironment:
    """The one Jinja environment templates run in.

    Sandboxed: a template cannot reach Python internals (``__class__``, ``__globals__``...),
    nor build giant values with ``*`` and ``**`` (range() is capped by Jinja itself).
    Autoescaped: data such as ``A & B <c>`` is written as text, never as WordprocessingML.
    ChainableUndefined: a value missing under ``strict: false`` (or a missing nested key)
    renders empty instead of failing the document.
    """
    return LimitedSandbox(**ENVIRONMENT_OPTIONS)


@dataclass(frozen=True)
class TemplateInspection:
    variables: list[str]
    # What the template loops over: "sections", "sections[].points" (each section's points).
    loops: list[str]
    # Names the template guards itself ({{ x|default("—") }}, {% if x is defined %}): a
    # document may leave them out, whatever ``strict`` says.
    optional: list[str] = field(default_factory=list)
    # Names printed by docxtpl's {{r x }} (rich text) or {{p x }} (a paragraph or a
    # sub-document) tags: "r" or "p". A plain text value there would print nothing.
    kinds: dict[str, str] = field(default_factory=dict)
    # Names printed by a plain {{ x }} tag: rich text or a sub-document there prints nothing.
    plain: list[str] = field(default_factory=list)


# docxtpl's run and paragraph tags, as they stand in the DOCX's XML.
_KIND_TAG = re.compile(r"\{\{\s*([rp])\s+([A-Za-z_][\w.]*)\s*\}\}")
# A plain tag printing a name as it is (no filter, no expression).
_PLAIN_TAG = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
# The filters and tests by which a template says a name may be missing.
_GUARDING_FILTERS = frozenset({"default", "d"})
_GUARDING_TESTS = frozenset({"defined", "undefined", "none"})


def check_docx(data: bytes) -> None:
    """``data`` is a Word document and safe to open (docrender/templates/package_check.py)."""
    _require_docx(data)
    check_package(data)  # before any parser inflates it


def inspect_template(data: bytes) -> TemplateInspection:
    """Check that ``data`` is a safe DOCX whose Jinja tags parse and name only filters and
    tests that exist; list what it reads."""
    check_docx(data)  # a job's copy was checked at upload
    try:
        return _inspect_tags(data)
    except RecursionError:
        raise TemplateTooComplex(
            _(
                "This template's tags are nested too deeply to read (or a long run of braces "
                "looks so); a Word template needs far less."
            ),
            {"limit": "nesting depth"},
        ) from None


def _inspect_tags(data: bytes) -> TemplateInspection:
    template = open_template(data)
    env = make_environment()
    names: set[str] = set()
    loops: set[str] = set()
    uses: collections.Counter[str] = collections.Counter()
    guarded: collections.Counter[str] = collections.Counter()
    tested: set[str] = set()
    kinds: dict[str, str] = {}
    plain: set[str] = set()
    for part_name, source, text in _template_sources(template):
        source = unescape_tags(source)
        try:
            parsed = env.parse(source)
            _check_names(parsed, env)
        except jinja2.TemplateSyntaxError as exc:  # TemplateAssertionError too
            raise _syntax_error(part_name, source, exc, env) from None
        part_names = meta.find_undeclared_variables(parsed)
        names |= part_names
        loops |= _loop_paths(parsed, {})
        for node in parsed.find_all(nodes.Name):
            if node.ctx == "load" and node.name in part_names:
                uses[node.name] += 1
        for guard in parsed.find_all(nodes.Filter):
            if (
                guard.name in _GUARDING_FILTERS
                and guard.node is not None
                and (root := _root_name(guard.node))
            ):
                guarded[root] += 1
        for test in parsed.find_all(nodes.Test):
            if test.name in _GUARDING_TESTS and (root := _root_name(test.node)):
                tested.add(root)
        kinds |= {match[2]: match[1] for match in _KIND_TAG.finditer(text)}
        plain |= {match[1] for match in _PLAIN_TAG.finditer(text)}
    optional = {name for name in names if name in tested or 0 < uses[name] <= guarded[name]}
    return TemplateInspection(
        variables=sorted(names),
        loops=sorted(loops),
        optional=sorted(optional),
        kinds=kinds,
        plain=sorted(plain),
    )


def _check_names(parsed: nodes.Template, env: SandboxedEnvironment) -> None:
    """Every filter and test the template names exists (Jinja would only find out when a
    document reaches the tag)."""
    for node in parsed.find_all((nodes.Filter, nodes.Test)):
        kind = "filter" if isinstance(node, nodes.Filter) else "test"
        if node.name not in (env.filters if kind == "filter" else env.tests):
            raise jinja2.TemplateAssertionError(f"No {kind} named '{node.name}'.", node.lineno)


def _root_name(expr: nodes.Node) -> str | None:
    """``x`` for ``x``, ``x.y``, ``x["y"]``: the top-level name an expression reads."""
    while isinstance(expr, nodes.Getattr | nodes.Getitem):
        expr = expr.node
    return expr.name if isinstance(expr, nodes.Name) else None


def _loop_paths(node: nodes.Node, scope: dict[str, str]) -> set[str]:
    """The data paths ``{% for %}`` loops iterate over. ``scope`` maps loop variables to the
    path they stand for (``s`` -> ``sections[]``), so nested loops get full paths."""
    if isinstance(node, nodes.For):
        path = _data_path(node.iter, scope)
        inner = dict(scope)
        if path and isinstance(node.target, nodes.Name):
            inner[node.target.name] = f"{path}[]"
        found = {path} if path else set()
        for child in [*node.body, *node.else_]:
            found |= _loop_paths(child, inner)
        return found
    found = set()
    for child in node.iter_child_nodes():
        found |= _loop_paths(child, scope)
    return found


def _data_path(expr: nodes.Node, scope: dict[str, str]) -> str | None:
    """``sections`` / ``basic.list`` / ``s.points`` as a data path; None for anything computed
    (a filter, a call, a literal), whose shape cannot be known before rendering."""
    if isinstance(expr, nodes.Name):
        return scope.get(expr.name, expr.name)
    if isinstance(expr, nodes.Getattr):
        base = _data_path(expr.node, scope)
        return f"{base}.{expr.attr}" if base else None
    if isinstance(expr, nodes.Getitem) and isinstance(expr.arg, nodes.Const):
        base = _data_path(expr.node, scope)
        return f"{base}.{expr.arg.value}" if base and isinstance(expr.arg.value, str) else None
    return None


def open_template(data: bytes) -> DocxTemplate:
    """Open ``data`` as a docxtpl template, or say why it is not one."""
    _require_docx(data)
    template = DocxTemplate(io.BytesIO(data))
    try:
        template.init_docx()
    except Exception as exc:  # python-docx raises many types for a damaged package
        raise InvalidTemplate(
            _(
                "The DOCX could not be read (%(error)s); open and re-save it in Word or "
                "LibreOffice, then upload again.",
                error=f"{exc.__class__.__name__}: {exc}",
            )
        ) from None
    return template


def _require_docx(data: bytes) -> None:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnsupportedFileType(
            _(
                "The file is not a DOCX (Word 2007+ .docx) document; save it as .docx and "
                "upload again."
            )
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if "word/document.xml" not in archive.namelist():
            raise UnsupportedFileType(
                _(
                    "The file is a zip archive but not a Word document (no word/document.xml); "
                    "upload a .docx."
                )
            )


def parsed_parts(data: bytes) -> list[nodes.Template]:
    """The Jinja syntax tree of each part of an (already inspected) template."""
    env = make_environment()
    return [
        env.parse(unescape_tags(source)) for _, source, _ in _template_sources(open_template(data))
    ]


def _template_sources(template: DocxTemplate) -> list[tuple[str, str, str]]:
    """The Jinja sources docxtpl will render: body, headers, footers, footnotes, properties,
    each as (part, source, the part's text before docxtpl patched its tags).

    Paragraphs start on their own line (as in DocxTemplate.render_xml_part), so that a
    syntax error's line number points at the paragraph holding the bad tag.
    """
    docx = template.docx
    parts = [("body", template.xml_to_string(docx._element.body))]
    for rel in docx._part.rels.values():
        if rel.reltype in (template.HEADER_URI, template.FOOTER_URI) and rel.target_part.blob:
            kind = "header" if rel.reltype == template.HEADER_URI else "footer"
            parts.append((kind, template.xml_to_string(parse_xml(rel.target_part.blob))))
    for part in docx.part.package.parts:
        if part.content_type == _FOOTNOTES:
            parts.append(("footnotes", part.blob.decode("utf-8")))
    sources = [
        (name, re.sub(r"<w:p([ >])", r"\n<w:p\1", template.patch_xml(xml)), _XML_TAG.sub("", xml))
        for name, xml in parts
    ]
    for prop in _RENDERED_PROPERTIES:
        value = getattr(docx.core_properties, prop) or ""
        if value:
            sources.append((f"document property '{prop}'", value, value))
    return sources


def _syntax_error(
    part: str, source: str, exc: jinja2.TemplateSyntaxError, env: SandboxedEnvironment
) -> TemplateSyntaxError:
    lines = source.splitlines()
    line = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else ""
    paragraph = _XML_TAG.sub("", line).strip()
    tags = _TAG.findall(paragraph)
    where = (
        _part_name(part)
        if not tags
        else _("%(part)s near %(tags)s", part=_part_name(part), tags=", ".join(tags))
    )
    details: dict[str, Any] = {
        "part": part,
        "tags": tags,
        "paragraph": paragraph[:500],
        "error": exc.message,
    }
    unknown = _UNKNOWN.match(exc.message or "")
    if unknown:
        kind, name = unknown[1], unknown[2]
        known = sorted(env.filters if kind == "filter" else env.tests)
        close = difflib.get_close_matches(name, known, n=1)
        details |= {kind: name, "known": known}
        if close:
            text = _(
                "Unknown %(kind)s %(name)s in the %(where)s: did you mean %(close)s? Fix the tag "
                "and upload again.",
                kind=_("filter") if kind == "filter" else _("test"),
                name=repr(name),
                where=where,
                close=repr(close[0]),
            )
        elif kind == "filter":
            text = _(
                "Unknown filter %(name)s in the %(where)s: there is no filter of that name. "
                "Fix the tag and upload again.",
                name=repr(name),
                where=where,
            )
        else:
            text = _(
                "Unknown test %(name)s in the %(where)s: there is no test of that name. "
                "Fix the tag and upload again.",
                name=repr(name),
                where=where,
            )
        return TemplateSyntaxError(text, details=details)
    return TemplateSyntaxError(
        _(
            "Jinja syntax error in the %(where)s: %(error)s. Fix the tag and upload again.",
            where=where,
            error=(exc.message or "").rstrip("."),
        ),
        details=details,
    )


def _part_name(part: str) -> Message | str:
    """A part of the package as a person calls it (a document property keeps its name)."""
    return _PART_NAMES.get(part, part)


_PART_NAMES = {
    "body": _("body"),
    "header": _("header"),
    "footer": _("footer"),
    "footnotes": _("footnotes"),
}


_UNKNOWN = re.compile(r"No (filter|test) named '([^']*)'")
