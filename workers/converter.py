"""Converts a DOCX to PDF through this worker process's own unoserver.

The converter keeps its instance healthy: it starts it on first use, restarts it when it died
or hung (the conversion then fails *transiently*, so the task is retried), and recycles it
after a number of conversions to bound LibreOffice's memory. It talks plain XML-RPC to
unoserver rather than through ``unoserver.client.UnoClient``, because that client has no
socket timeout and retries a refused connection for 50 s: both would hide a dead instance.

Documents travel as files in the instance's scratch directory (unoserver's ``inpath`` and
``outpath``), not as bytes in the XML-RPC messages: the worker and its unoserver share the
machine, and the bytes would be base64-encoded, gzipped by unoserver's XML-RPC server and
parsed back, which cost more CPU per report than rendering it (bench/results).
"""

from __future__ import annotations

import functools
import http.client
import io
import logging
import re
import threading
import time
import xmlrpc.client
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import docx

from docrender.errors import ConversionFailed, ConverterUnavailable
from workers.supervisor import UnoserverProcess, rpc_proxy

log = logging.getLogger(__name__)


class Converter(Protocol):
    def convert(
        self, document: bytes, output_format: str, filter_options: Sequence[str] = ()
    ) -> bytes: ...


class UnoserverConverter:
    def __init__(
        self,
        instance: UnoserverProcess,
        client_timeout: float,
        recycle_after: int,
        on_round_trip: Callable[[], None] = lambda: None,
    ) -> None:
        self.instance = instance
        self.client_timeout = client_timeout
        self.recycle_after = recycle_after
        self.on_round_trip = on_round_trip
        self.conversions = 0
        self._last_round_trip = float("-inf")
        self._lock = threading.Lock()
        self._closed = False

    def convert(
        self, document: bytes, output_format: str = "pdf", filter_options: Sequence[str] = ()
    ) -> bytes:
        """``filter_options`` are unoserver's "Name=value" export filter settings."""
        with self._lock:
            if self._closed:  # the worker process is shutting down: start nothing new
                raise ConverterUnavailable("The converter is shutting down; retrying elsewhere")
            self._ensure_running()
            source, target = self._scratch_paths(output_format)
            try:
                source.write_bytes(document)
                rpc_proxy(self.instance.url, self.client_timeout).convert(
                    str(source),  # inpath
                    None,  # indata
                    str(target),  # outpath
                    output_format,
                    None,  # filtername: chosen from the format
                    list(filter_options),
                    has_index(document),  # refresh tables of contents only where there are some
                    None,  # infiltername
                    None,  # password
                )
                result = target.read_bytes()
            except xmlrpc.client.Fault as fault:
                if "TimeoutError" in fault.faultString:
                    # unoserver gave up on a LibreOffice that hangs; it may not be dead yet.
                    self._discard("a conversion timed out", hung=True)
                    raise ConverterUnavailable(
                        "LibreOffice did not finish converting in time; retrying on a fresh "
                        "instance"
                    ) from None
                if self.instance.alive():
                    raise ConversionFailed(
                        f"LibreOffice could not convert the document: {_fault_reason(fault)}"
                    ) from None
                self._discard("it died during a conversion")
                raise ConverterUnavailable(
                    f"LibreOffice stopped while converting ({_fault_reason(fault)}); retrying"
                ) from None
            except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
                # Refused, reset or timed out: the instance is dead or hung. Replace it.
                self._discard(f"{exc.__class__.__name__}: {exc}", hung=True)
                raise ConverterUnavailable(
                    f"LibreOffice did not answer ({exc.__class__.__name__}); retrying"
                ) from None
            finally:
                source.unlink(missing_ok=True)
                target.unlink(missing_ok=True)
            self.conversions += 1
            self._last_round_trip = time.monotonic()
            self.on_round_trip()
            return result

    def probe(self) -> None:
        """A real round trip on a tiny document: proves the instance converts."""
        self.convert(_probe_document(), "pdf")

    def seconds_since_round_trip(self) -> float:
        return time.monotonic() - self._last_round_trip

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            self.instance.stop()

    def _scratch_paths(self, output_format: str) -> tuple[Path, Path]:
        # One conversion at a time per instance (the lock), so one pair of names suffices.
        directory = self.instance.scratch_dir
        return directory / "document.docx", directory / f"document.{output_format}"

    def _ensure_running(self) -> None:
        if self.instance.alive() and self.conversions >= self.recycle_after:
            self._discard(f"recycled after {self.conversions} conversions")
        if not self.instance.alive():
            if self.instance.port is not None:
                log.warning("unoserver is gone; starting a new one")
            self.instance.stop()
            self.instance.start()
            self.conversions = 0

    def _discard(self, reason: str, hung: bool = False) -> None:
        """Stop the instance; the next conversion starts a new one. Not starting it here
        keeps the failing task short: its retry (or the idle probe) pays for the start-up."""
        log.warning("stopping unoserver: %s; the next conversion starts a new one", reason)
        self.instance.stop(graceful=not hung)
        self.conversions = 0


_INDEX_FIELD = re.compile(
    rb"(instrText[^>]*>\s*(TOC|INDEX)\b|w:instr=\"\s*(TOC|INDEX)\b|Table of Contents)"
)


def has_index(document: bytes) -> bool:
    """Whether the DOCX has a table of contents or an index, whose page numbers LibreOffice
    must recompute. Most reports have none, and the refresh costs about a tenth of a
    conversion."""
    try:
        with zipfile.ZipFile(io.BytesIO(document)) as archive:
            return bool(_INDEX_FIELD.search(archive.read("word/document.xml")))
    except (zipfile.BadZipFile, KeyError):
        return True  # unknown: let LibreOffice do the safe thing


def _fault_reason(fault: xmlrpc.client.Fault) -> str:
    text = str(fault.faultString).strip().splitlines()
    return text[-1][:300] if text else "unknown error"


@functools.cache
def _probe_document() -> bytes:
    document = docx.Document()
    document.add_paragraph("docrender probe 探针")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
