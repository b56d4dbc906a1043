"""Template inspection at upload, in a child process that cannot hold the API.

docxtpl rewrites a template's tags with regular expressions before Jinja parses them, and
some inputs make that slow beyond reason (a run of 20,000 ``{`` costs 19 s of CPU, growing with
the square of the run) or blow the stack (RecursionError). So the inspection (tags and fonts)
runs in a bounded child (docrender/children.py); past its deadline or memory the upload is a
422 ``template_too_complex``, and a tenant's second upload while its first is read is a 429.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx.enum.style import WD_STYLE_TYPE

from docrender.children import Overran, run_in_child
from docrender.errors import TemplateTooComplex
from docrender.fonts.template import font_report
from docrender.i18n import Language, _
from docrender.templates.fill_in_sheet import fill_in_sheet
from docrender.templates.pictures import picture_names
from docrender.templates.tags import TemplateInspection, check_docx, inspect_template, open_template

INSPECT_SECONDS = 15


@dataclass(frozen=True)
class Inspected:
    inspection: TemplateInspection
    fonts: list[dict[str, Any]]  # the font report (docrender/fonts/template.py)
    # Its character and paragraph styles' names, which rich values may name.
    styles: dict[str, list[str]]
    # The names its pictures answer to, which a document's "pictures" may replace.
    pictures: list[str]


def inspect_upload(data: bytes, tenant: str, fonts_dir: Path | None = None) -> Inspected:
    """Inspect ``tenant``'s template in a child process. Raises the inspection's typed errors,
    TemplateTooComplex when it ran past INSPECT_SECONDS or the child's memory, TooManyUploads
    when the tenant's previous upload is still being read here."""
    try:
        return run_in_child(tenant, INSPECT_SECONDS, _inspect, data, fonts_dir)
    except Overran as overran:
        raise TemplateTooComplex(
            _(
                "Reading this template's tags took more than %(limit)s; a Word template needs "
                "far less. Look for very long runs of braces or deeply nested tags.",
                limit=overran.text,
            ),
            {"limit": str(overran.text)},
        ) from None


def fill_in_sheet_for(
    tenant: str, data: bytes, inspection: TemplateInspection, language: Language
) -> bytes:
    """The template's fill-in sheet (docrender/templates/fill_in_sheet.py), made in a child:
    it parses the template's tags and XML again, which the upload allowed up to
    INSPECT_SECONDS, and no page may hold an API thread that long."""
    try:
        return run_in_child(tenant, INSPECT_SECONDS, fill_in_sheet, data, inspection, language)
    except Overran as overran:
        raise TemplateTooComplex(
            _("Making the fill-in sheet took more than %(limit)s.", limit=overran.text),
            {"limit": str(overran.text)},
        ) from None


def check_subdocument(data: bytes, tenant: str) -> None:
    """A sub-document (an annex the data names) must be a Word document as safe as a template
    (docrender/templates/package_check.py): checked in a child, as templates are."""
    try:
        run_in_child(tenant, INSPECT_SECONDS, check_docx, data)
    except Overran as overran:
        raise TemplateTooComplex(
            _("reading it took more than %(limit)s", limit=overran.text),
            {"limit": str(overran.text)},
        ) from None


def inspect_here(data: bytes, tenant: str, fonts_dir: Path | None = None) -> Inspected:
    """The same inspection in this process: for templates docrender ships (the sample)."""
    return _inspect(data, fonts_dir)


def _inspect(data: bytes, fonts_dir: Path | None) -> Inspected:
    inspection = inspect_template(data)  # first: it refuses what is no safe DOCX
    fonts = [use.to_dict() for use in font_report(data, fonts_dir)]
    document = open_template(data).docx
    return Inspected(inspection, fonts, style_names(document), picture_names(document))


def style_names(document: Any) -> dict[str, list[str]]:
    """The names of ``document``'s character and paragraph styles, by kind, and under "ids"
    their ids, which rich values may name them by too (docrender/data/rich.py)."""
    kinds = {WD_STYLE_TYPE.CHARACTER: "character", WD_STYLE_TYPE.PARAGRAPH: "paragraph"}
    names: dict[str, list[str]] = {"character": [], "paragraph": [], "ids": []}
    for style in document.styles:
        if style.type in kinds and style.name:
            names[kinds[style.type]].append(str(style.name))
            names["ids"].append(str(style.style_id))
    return {kind: sorted(set(found)) for kind, found in names.items()}
