"""Output formats: what a job may ask for, the file each makes, and how LibreOffice exports it.

    pdf    a PDF (LibreOffice's export defaults: fonts embedded, bookmarks from headings)
    pdfa   a PDF/A-2b: archival, every font embedded, its identification in the metadata
    docx   the filled template itself, not converted

``pdf_options`` refine a PDF: ``tagged`` (a tagged, accessible PDF) and ``bookmarks``
(the outline from headings; on by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

FormatName = Literal["pdf", "pdfa", "docx"]


class PdfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tagged: StrictBool = Field(default=False, description="A tagged (accessible) PDF")
    bookmarks: StrictBool = Field(default=True, description="An outline from the headings")


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extension: str
    mime_type: str
    converted: bool  # False: the filled DOCX is the output
    filter_options: tuple[str, ...] = ()  # LibreOffice's PDF export settings


PDF_MIME = "application/pdf"
FORMATS = {
    "pdf": OutputFormat("pdf", "pdf", PDF_MIME, converted=True),
    # SelectPdfVersion=2: PDF/A-2b.
    "pdfa": OutputFormat(
        "pdfa", "pdf", PDF_MIME, converted=True, filter_options=("SelectPdfVersion=2",)
    ),
    "docx": OutputFormat(
        "docx",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        converted=False,
    ),
}


def export_options(output_format: str, pdf_options: PdfOptions | None) -> tuple[str, ...]:
    """LibreOffice's PDF export filter options for a job."""
    options = list(FORMATS[output_format].filter_options)
    pdf_options = pdf_options or PdfOptions()
    if pdf_options.tagged:
        options.append("UseTaggedPDF=true")
    if not pdf_options.bookmarks:  # LibreOffice exports them by default
        options.append("ExportBookmarks=false")
    return tuple(options)


def plain_pdf(output_format: str, pdf_options: PdfOptions | None) -> bool:
    """Whether a document is an ordinary PDF, which may share one LibreOffice conversion with
    others and be cut apart again (a PDF/A or a tagged PDF would lose what makes it one)."""
    return output_format == "pdf" and not export_options(output_format, pdf_options)
