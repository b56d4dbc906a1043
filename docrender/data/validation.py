"""Whole-batch validation of documents' data against what a template reads.

The template's needs come from its inspection (docrender.templates.tags): the top-level variables,
and the *loop paths*, the values it iterates over, such as ``sections`` and
``sections[].points`` (for each section, its ``points``). Every document is checked and every
problem reported at once, so a bureau can fix its whole spreadsheet in one go.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from docrender.data.values import is_paragraphs, is_rich, is_subdocument
from docrender.errors import MissingVariables, WrongShape
from docrender.i18n import Message, StoredWarning, _, listing, ngettext
from docrender.templates.tags import TemplateInspection

_MISSING = object()


@dataclass
class DocumentProblems:
    document: int
    missing: list[str] = field(default_factory=list)
    wrong_shape: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"document": self.document, "missing": self.missing}
        if self.wrong_shape:
            out["wrong_shape"] = self.wrong_shape
        return out


# How to relax ``strict``, as the API says it; the CLI says it with its own flag.
RELAX_STRICT = 'send "strict": false to print missing values empty'
_SHOWN_PROBLEMS = 5


def check_documents(
    needs: TemplateInspection,
    documents: Sequence[dict[str, Any]],
    places: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Raise one error listing every missing variable and every value of the wrong shape.
    ``places`` says where each document came from ({"row": 7, "name": "阜康市第二中學"} for a
    spreadsheet row): it is added to the details and named in the message."""
    required = sorted(set(needs.variables) - set(needs.optional))
    problems = [
        found
        for index, data in enumerate(documents)
        if (found := _check(index, data, required, needs.loops, needs.kinds, needs.plain))
    ]
    if not problems:
        return
    missing = sum(len(p.missing) for p in problems)
    shapes = sum(len(p.wrong_shape) for p in problems)
    counted = [
        ngettext("%(count)s missing value", "%(count)s missing values", missing),
        ngettext(
            "%(count)s value of the wrong shape", "%(count)s values of the wrong shape", shapes
        ),
    ]
    summary = (
        _("%(missing)s and %(shapes)s", missing=counted[0], shapes=counted[1])
        if missing and shapes
        else counted[0 if missing else 1]
    )
    details = [p.to_dict() | (dict(places[p.document]) if places else {}) for p in problems]
    listed: Message = listing(_describe(p, places) for p in problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    if more > 0:
        listed = ngettext(
            "%(listed)s; and %(count)s more document",
            "%(listed)s; and %(count)s more documents",
            more,
            listed=listed,
        )
    problem = ngettext(
        "%(count)s document of %(total)s does not fit the template (%(summary)s): %(listed)s",
        "%(count)s documents of %(total)s do not fit the template (%(summary)s): %(listed)s",
        len(problems),
        total=len(documents),
        summary=summary,
        listed=listed,
    )
    if missing:
        message = _(
            '%(problem)s. Fix the data, or send "strict": false to print missing values empty.',
            problem=problem,
        )
    else:
        message = _("%(problem)s. Fix the data.", problem=problem)
    raise (MissingVariables if missing else WrongShape)(message, details)


@dataclass(frozen=True)
class Problem:
    """One thing that stops a document printing, in words its reader acts on."""

    code: str
    text: Message
    # column and value of a cell the template could not use; tag, part and paragraph of the
    # template where it was read (for the template's author).
    details: dict[str, Any] = field(default_factory=dict)


def problems_of(found: dict[str, Any]) -> list[Problem]:
    """One document's entry of a MissingVariables or WrongShape error's details, as problems:
    each missing value and each value of the wrong shape, naming its column."""
    said = [
        Problem(
            MissingVariables.code,
            _("“%(column)s” has no value; fill it in.", column=name),
            {"column": name},
        )
        for name in found.get("missing", [])
    ]
    said += [
        Problem(
            WrongShape.code,
            _("%(variable)s: %(expected)s needed, %(got)s given", **shape),
            {"column": shape["variable"]},
        )
        for shape in found.get("wrong_shape", [])
    ]
    return said


def plural(count: int, noun: str) -> str:
    """ "1 document", "2 documents"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _describe(problems: DocumentProblems, places: Sequence[dict[str, Any]] | None) -> Message:
    place = places[problems.document] if places else {}
    where = (
        _("row %(row)s", row=place["row"])
        if "row" in place
        else _("document %(index)s", index=problems.document)
    )
    if place.get("name"):
        where = _("%(where)s (%(name)s)", where=where, name=place["name"])
    what = []
    if problems.missing:
        what.append(_("misses %(names)s", names=", ".join(problems.missing)))
    what += [
        _(
            "has %(got)s for %(variable)s, where %(expected)s is needed",
            got=_kind(shape["got"]),
            variable=shape["variable"],
            expected=_kind(shape["expected"]),
        )
        for shape in problems.wrong_shape
    ]
    return _("%(where)s %(what)s", where=where, what=listing(what))


def _kind(name: str) -> Message | str:
    """A kind of value as a person calls it ("image object": the type the data gave)."""
    if name in _KIND_NAMES:
        return _KIND_NAMES[name]
    if name.endswith(" object"):
        return _("a %(type)s object", type=name.removesuffix(" object"))
    return name


def _check(
    index: int,
    data: dict[str, Any],
    variables: Sequence[str],
    loops: Sequence[str],
    kinds: dict[str, str],
    plain: Sequence[str] = (),
) -> DocumentProblems | None:
    problems = DocumentProblems(index, missing=sorted(set(variables) - data.keys()))
    for path in loops:
        for where, value in _values_at(data, path):
            if not isinstance(value, list):
                problems.wrong_shape.append(
                    {"variable": where, "expected": "list", "got": _type_name(value)}
                )
    for path, kind in kinds.items():
        for where, value in _values_at(data, path):
            if not _fits_tag(kind, value):
                expected = str(_TAG_KINDS[kind])
                problems.wrong_shape.append(
                    {"variable": where, "expected": expected, "got": _type_name(value)}
                )
    for path in plain:
        for where, value in _values_at(data, path):
            if is_rich(value) or is_subdocument(value) or is_paragraphs(value):
                problems.wrong_shape.append(
                    {"variable": where, "expected": str(_PLAIN_TAG), "got": _type_name(value)}
                )
    return problems if problems.missing or problems.wrong_shape else None


# What docxtpl's {{r x }} and {{p x }} tags print: a plain text value there prints nothing.
_TAG_KINDS = {
    "r": _('rich text ({"type": "rich", ...}) for its {{r }} tag'),
    "p": _(
        'rich text, paragraphs ({"type": "paragraphs", ...}) or a sub-document ({"type": '
        '"docx", ...}) for its {{p }} tag'
    ),
}
# A plain {{ x }} tag prints text: rich text or a sub-document there would print nothing.
_PLAIN_TAG = _(
    "text or a number for its {{ }} tag (rich text needs a {{r }} tag, paragraphs or a "
    "sub-document a {{p }} tag)"
)
# The kinds a problem's details name (in English, for systems), as each reader calls them.
_KIND_NAMES = {
    "list": _("a list"),
    "text": _("text"),
    "object": _("an object"),
    "number": _("a number"),
    "boolean": _("a yes/no value"),
    **{str(kind): kind for kind in (*_TAG_KINDS.values(), _PLAIN_TAG)},
}


def _fits_tag(kind: str, value: Any) -> bool:
    if kind == "r":
        return is_rich(value)
    return is_rich(value) or is_subdocument(value) or is_paragraphs(value)


def _values_at(data: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every value a loop path reaches: ``sections[].points`` yields each section's points
    as ("sections[0].points", value). Missing values are skipped (they render empty)."""
    current: list[tuple[str, Any]] = [("", data)]
    segments = path.split(".")
    for position, segment in enumerate(segments):
        each = segment.endswith("[]")
        key = segment.removesuffix("[]")
        reached = []
        for where, value in current:
            child = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
            if child is _MISSING or child is None:
                continue
            name = f"{where}.{key}" if where else key
            if each and position < len(segments) - 1:
                if isinstance(child, list):  # a non-list here is reported by its own path
                    reached += [(f"{name}[{i}]", item) for i, item in enumerate(child)]
            else:
                reached.append((name, child))
        current = reached
    return iter(current)


def _type_name(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return f"{value['type']} object"
    return {dict: "object", str: "text", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def unused_columns(needs: TemplateInspection, columns: Sequence[str]) -> StoredWarning | None:
    """A warning naming the data file's columns the template never reads (a misspelt
    ``signiture``), with the names it does read; None when every column is used."""
    unused = [column for column in columns if column not in needs.variables]
    if not unused:
        return None
    text = ngettext(
        "The template does not read the column %(columns)s: misspelt, or not meant for this "
        "template? It reads %(variables)s.",
        "The template does not read the columns %(columns)s: misspelt, or not meant for this "
        "template? It reads %(variables)s.",
        len(unused),
        columns=", ".join(unused),
        variables=", ".join(needs.variables) or _("no variables"),
    )
    return {
        "code": "unused_columns",
        "message": str(text),
        "text": text.to_json(),
        "columns": unused,
    }
