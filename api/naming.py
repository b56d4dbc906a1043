"""Output file names: from a pattern over each document's data, safe on every file system,
unique within the job (so downloads and the ZIP agree on them).

Patterns are evaluated in the API's request thread, so what they may do is bounded before they
run: they print values and compute nothing (``_NAME_NODES``), their filters take time in
proportion to their input (the number filters refuse more than 30 digits), and a job's names
must be made within ``NAMING_SECONDS`` (checked between documents: each one is bounded by its
own data's size).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from docrender.data.values import shown_values
from docrender.errors import InvalidNamePattern
from docrender.i18n import Message, _
from docrender.templates.filters import REPORT_FILTERS

# File systems limit a name to 255 bytes (ext4, and ZIP extractors that write to them): a stem
# of at most 240 UTF-8 bytes leaves room for "-12" and ".docx". 240 bytes hold 80 Chinese
# characters.
MAX_NAME_BYTES = 240
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")  # separators, controls, Windows' reserved
# Names Windows gives to devices, whatever follows a dot: "CON", "aux.pdf" cannot be files.
_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\.|$)", re.IGNORECASE)
# Names are plain text, not XML: no autoescape. Sandboxed like templates; missing values empty;
# the report filters there too (a date in a name: {{ day|date("%Y%m%d") }}).
_ENV = SandboxedEnvironment(autoescape=False, undefined=jinja2.ChainableUndefined)
_ENV.filters.update(REPORT_FILTERS)
# A name pattern prints values: variables, their keys, filters, text, and sums (the usual
# {{ index + 1 }}). Nothing else that computes (*, /, %, **, calls, loops, conditions), so that
# no pattern can hold an API process: every step here takes time in proportion to its input.
_NAME_FILTERS = frozenset(
    {
        "default",
        "d",
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "truncate",
        "string",
        "date",
        "cn_date",
        "cn_number",
        "cn_index",
        "to_hans",
        "to_hant",
        "fixed",
        "thousands",
        "percent",
    }
)
_NAME_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
    nodes.Filter,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Neg,
    nodes.Pos,
)  # (index + 1: cheap)
_MAX_LITERAL = 200
NAMING_SECONDS = 5.0


def document_names(
    job_pattern: str | None,
    documents: Sequence[tuple[str | None, dict[str, Any]]],
    rows: Sequence[int] | None = None,
) -> list[str]:
    """One safe, unique stem per (name or pattern, data); the job's pattern applies where a
    document has no name of its own; where neither gives anything, the document's first short
    text value (a sheet's first text column: the unit, as a rule), else ``row-<its sheet
    row>`` for a data file's row (``rows``), ``document-<index>`` for JSON."""
    names = []
    deadline = time.monotonic() + NAMING_SECONDS
    for index, (own, data) in enumerate(documents):
        if time.monotonic() > deadline:
            raise InvalidNamePattern(
                _(
                    "Naming the documents took longer than %(seconds)s seconds (stopped at "
                    "document %(index)s); use a simpler name pattern or less data per document.",
                    seconds=int(NAMING_SECONDS),
                    index=index,
                ),
                {"document": index},
            )
        pattern = own if own is not None else job_pattern
        name = safe_name(render_pattern(pattern, data, index)) if pattern else ""
        names.append(name or (safe_name(first_text(data)) if pattern is None else ""))
    return unique(
        [
            name or (f"row-{rows[index]}" if rows else f"document-{index}")
            for index, name in enumerate(names)
        ]
    )


DEFAULT_NAME_CHARACTERS = 64


def first_text(data: dict[str, Any]) -> str:
    """The first text value of ``data`` that could name its document: on one line, at most
    DEFAULT_NAME_CHARACTERS long; "" when there is none."""
    for value in data.values():
        text = value.strip() if isinstance(value, str) else ""
        if text and len(text) <= DEFAULT_NAME_CHARACTERS and not _UNSAFE_LINE.search(text):
            return text
    return ""


_UNSAFE_LINE = re.compile(r"[\r\n\v\f\u2028\u2029]")


def batch_name(title: str | None, template_name: str) -> str:
    """The stem of a job's own downloads (its archive, its merged volume): its title, else its
    template's name ("" when neither gives a safe name)."""
    return safe_name(title or "") or safe_name(template_name)


def render_pattern(pattern: str, data: dict[str, Any], index: int) -> str:
    template = _compile(pattern)
    try:
        return template.render({**shown_values(data), "index": index})
    except Exception as exc:  # a filter given what it cannot read, a missing key...
        raise InvalidNamePattern(
            _(
                "The name pattern %(pattern)s could not be used for document %(index)s: %(reason)s",
                pattern=repr(pattern),
                index=index,
                reason=getattr(exc, "text", None) or str(exc),
            ),
            {"pattern": pattern, "document": index},
        ) from None


@functools.lru_cache(maxsize=64)
def _compile(pattern: str) -> jinja2.Template:
    """The pattern, once checked to print values only (``_NAME_NODES``, ``_NAME_FILTERS``)."""
    try:
        parsed = _ENV.parse(pattern)
    except jinja2.TemplateSyntaxError as exc:
        raise _refused(
            pattern, _("it does not parse (%(error)s)", error=exc.message or "")
        ) from None
    for node in parsed.find_all(nodes.Node):
        if not isinstance(node, _NAME_NODES):
            raise _refused(
                pattern,
                _(
                    "it computes (%(node)s); a name pattern prints variables, their keys and "
                    "filters only",
                    node=type(node).__name__,
                ),
            )
        if isinstance(node, nodes.Filter) and node.name not in _NAME_FILTERS:
            allowed = sorted(_NAME_FILTERS)
            raise _refused(
                pattern,
                _(
                    "the filter %(filter)s cannot be used in a name (these can: %(allowed)s)",
                    filter=repr(node.name),
                    allowed=", ".join(allowed),
                ),
            )
        if isinstance(node, nodes.Const) and len(str(node.value)) > _MAX_LITERAL:
            raise _refused(
                pattern,
                _("a literal is longer than %(limit)s characters", limit=_MAX_LITERAL),
            )
    return _ENV.from_string(parsed)


def _refused(pattern: str, why: Message) -> InvalidNamePattern:
    return InvalidNamePattern(
        _(
            "The name pattern %(pattern)s cannot be used: %(why)s.",
            pattern=repr(pattern[:100]),
            why=why,
        ),
        {"pattern": pattern[:500]},
    )


def safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    encoded = cleaned.encode()[:MAX_NAME_BYTES]
    cleaned = encoded.decode(errors="ignore").rstrip(" .")  # never half a character
    return f"_{cleaned}" if _DEVICE.match(cleaned) else cleaned


def unique(names: Sequence[str]) -> list[str]:
    """Repeated names get -2, -3... (compared case-insensitively, as some file systems do)."""
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, count = name, 1
        while candidate.casefold() in taken:
            count += 1
            candidate = f"{name}-{count}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out
