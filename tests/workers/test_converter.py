"""The converter against a real unoserver and LibreOffice: converts, survives a crash and a
hang of LibreOffice by replacing it, and recycles it after N conversions."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from docrender.errors import ConverterUnavailable
from docrender.settings import Settings
from tests.conftest import processes_using
from tests.helpers import make_docx, pdf_text
from workers.converter import UnoserverConverter
from workers.supervisor import UnoserverConfig, UnoserverProcess

DOCUMENT = make_docx("轉換測試 conversion test")


@pytest.fixture
def converter(settings: Settings, tmp_path: Path) -> Iterator[UnoserverConverter]:
    config = UnoserverConfig(
        unoserver_executable=settings.unoserver_executable,
        soffice_executable=settings.soffice_executable,
        conversion_timeout=20,
        start_timeout=90,
        work_dir=tmp_path / "run",
        log_file=tmp_path / "unoserver.log",
    )
    converter = UnoserverConverter(UnoserverProcess(config), client_timeout=5, recycle_after=3)
    yield converter
    converter.stop()
    assert not processes_using(tmp_path), "LibreOffice or unoserver left running"
    assert not any((tmp_path / "run").iterdir()), "profile directory left behind"


def soffice_of(converter: UnoserverConverter) -> psutil.Process:
    unoserver = psutil.Process(converter.instance._process.pid)  # type: ignore[union-attr]
    return next(p for p in unoserver.children(recursive=True) if "soffice" in p.name())


def converts(converter: UnoserverConverter) -> bool:
    return "轉換測試" in pdf_text(converter.convert(DOCUMENT, "pdf"))


def test_converts_a_docx_to_pdf(converter: UnoserverConverter) -> None:
    pdf = converter.convert(DOCUMENT, "pdf")
    assert pdf.startswith(b"%PDF")
    assert "轉換測試 conversion test" in pdf_text(pdf)


def test_killed_libreoffice_is_replaced_before_the_next_document(
    converter: UnoserverConverter,
) -> None:
    assert converts(converter)
    first = soffice_of(converter)
    os.kill(first.pid, signal.SIGKILL)
    # The converter notices the dead instance and starts a new one: the document converts.
    assert converts(converter)
    assert soffice_of(converter).pid != first.pid


def test_hung_libreoffice_times_out_and_is_replaced(converter: UnoserverConverter) -> None:
    assert converts(converter)
    hung = soffice_of(converter)
    hung.suspend()  # SIGSTOP: LibreOffice stops answering
    with pytest.raises(ConverterUnavailable, match="did not answer"):
        converter.convert(DOCUMENT, "pdf")
    assert not hung.is_running() or hung.status() == psutil.STATUS_ZOMBIE
    assert converts(converter)


def test_recycled_after_n_conversions(converter: UnoserverConverter) -> None:
    for _ in range(3):
        assert converts(converter)
    before = soffice_of(converter).pid
    assert converts(converter)  # the 4th runs on a fresh instance (recycle_after=3)
    assert soffice_of(converter).pid != before
