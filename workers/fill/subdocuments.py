"""Sub-documents: an annex (附件) a bureau keeps as a .docx of its own, uploaded with the job
and printed where the template says ``{{p annex }}``:

    {"type": "docx", "file": "annex.docx"}

docxtpl's Subdoc brings the annex's paragraphs, tables and images into the document, and
docxcompose carries its styles and numbering across. The annex is checked as a template is
(a Word document, no macros, embedded objects or linked files, a bounded size when inflated),
here and at submission, since LibreOffice will print what it holds.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, Literal

from docxtpl import DocxTemplate
from docxtpl.subdoc import Subdoc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docrender.errors import DocrenderError, RenderFailed
from docrender.i18n import _
from docrender.templates.tags import check_docx
from workers.fill import templates


class SubdocumentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["docx"]
    file: str = Field(min_length=1, max_length=100)


def subdocument(
    template: DocxTemplate,
    value: dict[str, Any],
    read_file: Callable[[str], bytes | None],
    path: str,
) -> Subdoc:
    try:
        spec = SubdocumentSpec.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RenderFailed(
            _(
                "The sub-document at %(path)s is not valid: %(where)s: %(msg)s.",
                path=path,
                where=where,
                msg=first["msg"],
            ),
        ) from None
    data = read_file(spec.file)
    if data is None:
        raise RenderFailed(
            _(
                "The sub-document at %(path)s names %(file)s, which was not uploaded with the job.",
                path=path,
                file=repr(spec.file),
            ),
        )
    try:
        check_docx(data)
    except DocrenderError as exc:
        raise RenderFailed(
            _(
                "The sub-document %(file)s at %(path)s: %(reason)s",
                file=spec.file,
                path=path,
                reason=exc.text,
            )
        ) from None
    templates.own_styles(template.docx)  # docxcompose merges the annex's styles into them
    try:
        return template.new_subdoc(io.BytesIO(data))
    except Exception as exc:  # python-docx and docxcompose raise many kinds for a damaged file
        raise RenderFailed(
            _(
                "The sub-document %(file)s at %(path)s could not be read (%(name)s: %(exc)s); "
                "re-save it in Word or LibreOffice.",
                file=spec.file,
                path=path,
                name=exc.__class__.__name__,
                exc=exc,
            ),
        ) from None
