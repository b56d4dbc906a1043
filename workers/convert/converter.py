"""Converts a DOCX to PDF through this worker process's own unoserver.

The converter only converts, on the instance its supervisor (workers/convert/supervisor.py) keeps
running: a conversion that finds LibreOffice dead or hung says so (ProcessBroken), and the
supervisor replaces the instance while the conversion fails *transiently*, so the task is
retried. It talks plain XML-RPC to unoserver rather than through
``unoserver.client.UnoClient``, because that client has no socket timeout and retries a refused
connection for 50 s: both would hide a dead instance.

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
import xmlrpc.client
import zipfile
from collections.abc import Sequence
from typing import Protocol

import docx

from docrender.errors import ConversionFailed, ConversionTimedOut, ConverterUnavailable
from docrender.i18n import _
from workers.convert.libreoffice import UnoserverProcess, rpc_proxy
from workers.convert.supervisor import ProcessBroken, Supervisor

log = logging.getLogger(__name__)


class Converter(Protocol):
    def convert(
        self,
        document: bytes,
        output_format: str,
        filter_options: Sequence[str] = (),
        isolated: bool = False,
    ) -> bytes:
        """``isolated``: nothing the document brings into LibreOffice (its embedded fonts)
        may outlive its conversion, so the instance is stopped right after it."""
        ...


class UnoserverConverter:
    def __init__(self, supervisor: Supervisor[UnoserverProcess], client_timeout: float) -> None:
        self.supervisor = supervisor
        self.client_timeout = client_timeout

    @property
    def instance(self) -> UnoserverProcess:
        return self.supervisor.process

    def convert(
        self,
        document: bytes,
        output_format: str = "pdf",
        filter_options: Sequence[str] = (),
        isolated: bool = False,
    ) -> bytes:
        """``filter_options`` are unoserver's "Name=value" export filter settings."""
        return self.supervisor.run(
            lambda instance: self._convert(instance, document, output_format, filter_options),
            last=isolated,
        )

    def probe(self) -> None:
        """A real round trip on a tiny document: proves the instance converts."""
        self.convert(_probe_document(), "pdf")

    def seconds_since_round_trip(self) -> float:
        return self.supervisor.seconds_since_round_trip()

    def stop(self) -> None:
        self.supervisor.close()

    def _convert(
        self,
        instance: UnoserverProcess,
        document: bytes,
        output_format: str,
        filter_options: Sequence[str],
    ) -> bytes:
        # One conversion at a time per instance (the supervisor's), so one pair of names.
        source = instance.scratch_dir / "document.docx"
        target = instance.scratch_dir / f"document.{output_format}"
        try:
            source.write_bytes(document)
            rpc_proxy(instance.url, self.client_timeout).convert(
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
            return target.read_bytes()
        except xmlrpc.client.Fault as fault:
            if "TimeoutError" in fault.faultString:
                # unoserver gave up on a LibreOffice that hangs; it may not be dead yet.
                raise ProcessBroken("a conversion timed out", _timed_out(), hung=True) from None
            if instance.alive():
                raise ConversionFailed(
                    _(
                        "LibreOffice could not convert the document: %(value)s",
                        value=_fault_reason(fault),
                    ),
                ) from None
            raise ProcessBroken(
                "it died during a conversion",
                ConverterUnavailable(
                    _(
                        "LibreOffice stopped while converting (%(value)s); retrying",
                        value=_fault_reason(fault),
                    ),
                ),
            ) from None
        except TimeoutError:  # no answer within the client timeout: hung
            raise ProcessBroken("a conversion timed out", _timed_out(), hung=True) from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            # Refused, reset or timed out: the instance is dead or hung. Replace it.
            raise ProcessBroken(
                f"{exc.__class__.__name__}: {exc}",
                ConverterUnavailable(
                    _(
                        "LibreOffice did not answer (%(name)s); retrying",
                        name=exc.__class__.__name__,
                    ),
                ),
                hung=True,
            ) from None
        finally:
            source.unlink(missing_ok=True)
            target.unlink(missing_ok=True)


def _timed_out() -> ConversionTimedOut:
    return ConversionTimedOut(
        _("LibreOffice did not finish converting in time; retrying on a fresh instance"),
    )


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
