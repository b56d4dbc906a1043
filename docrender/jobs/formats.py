"""Output formats: what a job may ask for, the file each makes, and how LibreOffice exports it.

    pdf    a PDF (LibreOffice's export defaults: fonts embedded, bookmarks from headings)
    pdfa   a PDF/A-2b: archival, every font embedded, its identification in the metadata
    docx   the filled template itself, not converted

``pdf_options`` refine a PDF: ``tagged`` (a tagged PDF: its text in reading order, headings,
tables and lists marked for screen readers), ``accessible`` (PDF/UA-1: tagged, the document's
title shown in place of the file name, its language declared) and ``bookmarks`` (the outline
from headings; on by default).

Untagged is the default, and every conversion says so (``UseTaggedPDF=false``): LibreOffice
25.2 tags a PDF when it is given no export options and not when it is given some, so leaving
it unsaid would mix tagged and untagged PDFs in one job. Tagging costs 10-18 % more bytes and
keeps a document out of combined conversions (a structure tree spans the pages of every
document in the load, and cannot be cut with them); most reports are printed or archived,
so it is asked for where it is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

FormatName = Literal["pdf", "pdfa", "docx"]


class PdfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tagged: StrictBool = Field(
        default=False, description="A tagged PDF (structure for screen readers and reflow)"
    )
    accessible: StrictBool = Field(
        default=False,
        description="PDF/UA-1: tagged, with the document's title and language (implies tagged)",
    )
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
    tagged = pdf_options.tagged or pdf_options.accessible
    options.append(f"UseTaggedPDF={str(tagged).lower()}")  # always said: see the docstring
    if pdf_options.accessible:
        # LibreOffice then shows the title (DisplayDocTitle) and writes /Lang itself.
        options.append("PDFUACompliance=true")
    if not pdf_options.bookmarks:  # LibreOffice exports them by default
        options.append("ExportBookmarks=false")
    return tuple(options)


PLAIN = export_options("pdf", None)


def plain_pdf(output_format: str, pdf_options: PdfOptions | None) -> bool:
    """Whether a document is an ordinary PDF, which may share one LibreOffice conversion with
    others and be cut apart again (a PDF/A or a tagged PDF would lose what makes it one)."""
    return export_options(output_format, pdf_options) == PLAIN
