"""Small tools the tests share: build DOCX templates, read PDFs the way a user checks them."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import docx

from docrender.job_options import JobOptions
from docrender.jobstore import JobStore, NewDocument, NewJob
from docrender.settings import Settings
from workers.libreoffice import UnoserverConfig


def make_docx(*paragraphs: str, footer: str | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if footer is not None:
        document.sections[0].footer.paragraphs[0].text = footer
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_text(pdf: bytes) -> str:
    return _poppler("pdftotext", pdf, "-")


def pdf_fonts(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts' table as dicts: name, type, emb (yes/no)..."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    fonts = []
    for line in lines:
        fields = line.split()
        # name type... encoding emb sub uni object-id gen: read from the right
        fonts.append({"name": fields[0], "emb": fields[-5], "uni": fields[-3]})
    return fonts


def squash(text: str) -> str:
    """Text without white space: pdftotext breaks lines and spaces CJK from Latin."""
    return re.sub(r"\s+", "", text)


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(
            [tool, file.name, *args], check=True, capture_output=True, text=True
        ).stdout


def characters_without_glyph(text: str, family: str) -> set[str]:
    """Characters of ``text`` that the installed font ``family`` has no glyph for: what would
    print as tofu (or in a substitute face) in the PDF."""
    from fontTools.ttLib import TTCollection, TTFont

    path = subprocess.run(
        ["fc-match", "-f", "%{file}", family], check=True, capture_output=True, text=True
    ).stdout
    fonts = TTCollection(path).fonts if path.endswith(".ttc") else [TTFont(path)]
    covered = set(fonts[0].getBestCmap())
    return {ch for ch in set(text) if not ch.isspace() and ord(ch) not in covered}


def unoserver_config(work: Path, conversion_timeout: int) -> UnoserverConfig:
    """A converter instance of the tests' own, with its profile and log under ``work``."""
    settings = Settings.from_env({})
    return UnoserverConfig(
        unoserver_python=settings.unoserver_python,
        soffice_executable=settings.soffice_executable,
        conversion_timeout=conversion_timeout,
        start_timeout=90,
        work_dir=work / "run",
        log_file=work / "unoserver.log",
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not true within {timeout}s"
        time.sleep(0.05)


def record_job(
    store: JobStore,
    tenant: str,
    documents: Sequence[NewDocument],
    template_key: str = "k",
    **options: Any,
) -> str:
    """A job written straight into the job store (never queued); its id."""
    job_id = uuid.uuid4().hex
    store.create(NewJob(job_id, tenant, "tpl", template_key, JobOptions(**options), documents))
    return job_id
