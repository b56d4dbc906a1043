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
from docrender.templates.tags import check_docx


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
            f"The sub-document at {path} is not valid: {where}: {first['msg']}.",
            zh=f"{path} 处的子文档无效：{where}：{first['msg']}。",
        ) from None
    data = read_file(spec.file)
    if data is None:
        raise RenderFailed(
            f"The sub-document at {path} names {spec.file!r}, which was not uploaded with the job.",
            zh=f"{path} 处的子文档指向 {spec.file!r}，但它没有随任务上传。",
        )
    try:
        check_docx(data)
    except DocrenderError as exc:
        raise RenderFailed(
            f"The sub-document {spec.file} at {path}: {exc.message}",
            zh=f"{path} 处的子文档 {spec.file}：{exc.zh or exc.message}",
        ) from None
    try:
        return template.new_subdoc(io.BytesIO(data))
    except Exception as exc:  # python-docx and docxcompose raise many kinds for a damaged file
        raise RenderFailed(
            f"The sub-document {spec.file} at {path} could not be read "
            f"({exc.__class__.__name__}: {exc}); re-save it in Word or LibreOffice.",
            zh=f"无法读取 {path} 处的子文档 {spec.file}（{exc.__class__.__name__}：{exc}）；请在 Word 或 LibreOffice 中另存。",
        ) from None
