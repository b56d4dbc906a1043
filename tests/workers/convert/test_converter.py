"""The converter against a real unoserver and LibreOffice: converts, survives a crash and a
hang of LibreOffice by replacing it, and recycles it after N conversions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from docrender.errors import ConversionTimedOut
from docrender.settings import PROJECT_ROOT
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text
from tests.helpers.processes import processes_using, unoserver_config, wait_until
from workers.convert.converter import UnoserverConverter
from workers.convert.libreoffice import UnoserverProcess, rpc_proxy
from workers.convert.supervisor import Supervisor

DOCUMENT = make_docx("轉換測試 conversion test")


@pytest.fixture
def converter(tmp_path: Path) -> Iterator[UnoserverConverter]:
    config = unoserver_config(tmp_path, conversion_timeout=20)
    converter = UnoserverConverter(
        Supervisor(UnoserverProcess(config), recycle_after=3), client_timeout=5
    )
    yield converter
    converter.stop()
    assert not processes_using(tmp_path), "LibreOffice or unoserver left running"
    left = list(config.profiles_dir.glob(f"lo-profile-{os.getpid()}-*"))
    assert not left, "profile directory left behind"


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
    # SIGKILL lands asynchronously: wait until the death is visible, as it is to a worker
    # picking up its next document. (A conversion already in flight when LibreOffice dies fails
    # transiently instead, and its task is retried: test_tasks and the fault tests cover that.)
    wait_until(lambda: not converter.instance.alive())
    # The converter notices the dead instance and starts a new one: the document converts.
    assert converts(converter)
    assert soffice_of(converter).pid != first.pid


def test_hung_libreoffice_times_out_and_is_replaced(converter: UnoserverConverter) -> None:
    assert converts(converter)
    hung = soffice_of(converter)
    hung.suspend()  # SIGSTOP: LibreOffice stops answering
    with pytest.raises(ConversionTimedOut, match="did not finish converting in time"):
        converter.convert(DOCUMENT, "pdf")
    assert not hung.is_running() or hung.status() == psutil.STATUS_ZOMBIE
    assert converts(converter)


def test_recycled_after_n_conversions(converter: UnoserverConverter) -> None:
    for _ in range(3):
        assert converts(converter)
    before = soffice_of(converter).pid
    assert converts(converter)  # the 4th runs on a fresh instance (recycle_after=3)
    assert soffice_of(converter).pid != before


class Canary:
    """An HTTP listener on loopback that records every request it gets."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.requests.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def linking_document(url: str) -> bytes:
    """A DOCX that asks to fetch ``url``: a linked (not embedded) image, an INCLUDEPICTURE
    and an INCLUDETEXT field. Uploads refuse such files; this checks the layer below."""
    import io
    import zipfile

    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph("before")
    document.add_picture(io.BytesIO(_tiny_png()))
    document.add_paragraph("after")
    out = io.BytesIO()
    document.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    linked = io.BytesIO()
    with zipfile.ZipFile(linked, "w") as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b'r:embed="', b'r:link="rIdCanary" r:dummy="')
                fields = (
                    f"<w:p><w:fldSimple w:instr=' INCLUDEPICTURE \"{url}/field.png\" \\d '/></w:p>"
                    f"<w:p><w:fldSimple w:instr=' INCLUDETEXT \"{url}/text.docx\" '/></w:p>"
                ).encode()
                data = data.replace(b"<w:sectPr", fields + b"<w:sectPr", 1)
            if item.filename == "word/_rels/document.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    (
                        f'<Relationship Id="rIdCanary" TargetMode="External" Target="{url}/linked.png" '
                        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"/>'
                        "</Relationships>"
                    ).encode(),
                )
            archive.writestr(item, data)
    return linked.getvalue()


def _tiny_png() -> bytes:
    import base64

    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )


def test_libreoffice_fetches_nothing_a_document_links_to(converter: UnoserverConverter) -> None:
    canary = Canary()
    try:
        pdf = converter.convert(linking_document(canary.url), "pdf")
        assert pdf.startswith(b"%PDF") and "after" in pdf_text(pdf)
        assert canary.requests == []
    finally:
        canary.close()


def test_instances_are_hardened_listen_on_loopback_and_see_no_secrets(
    converter: UnoserverConverter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCRENDER_API_KEYS", "tenant:secret-canary")
    converter.instance.stop()  # start again with the secret in our own environment
    assert converts(converter)
    profile = converter.instance._profile
    assert profile is not None
    settings = (profile / "user" / "registrymodifications.xcu").read_text()
    assert '"DisableMacrosExecution" oor:op="fuse"><value>true' in settings
    family = [psutil.Process(converter.instance._process.pid)]  # type: ignore[union-attr]
    family += family[0].children(recursive=True)
    for process in family:
        environment = Path(f"/proc/{process.pid}/environ").read_bytes()
        assert b"secret-canary" not in environment
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                assert connection.laddr.ip == "127.0.0.1", (process.name(), connection)
    soffice = soffice_of(converter)
    assert b"DOCRENDER" not in Path(f"/proc/{soffice.pid}/environ").read_bytes()
    if os.geteuid() == 0:  # a root worker runs them as nobody, with no extra groups
        for process in family:
            assert process.username() == "nobody", process
            assert process.gids().real == process.gids().effective != 0
    # Its memory limit: a runaway document costs this instance, never Redis.
    limits = Path(f"/proc/{soffice.pid}/limits").read_text()
    assert f"Max address space         {2 * 1024**3}" in limits, limits


def test_no_other_local_process_can_drive_libreoffice(
    converter: UnoserverConverter, tmp_path: Path
) -> None:
    """Its two control channels: UNO takes no TCP connection at all (a pipe only its owner
    may connect to), and XML-RPC converts nothing for a caller without the instance's secret
    path, however it is asked (the earlier finding: a 0600 file converted to PDF)."""
    assert converts(converter)
    soffice = soffice_of(converter)
    assert not [c for c in soffice.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    pipes = {
        Path(c.laddr) for c in soffice.net_connections(kind="unix") if "OSL_PIPE" in c.laddr
    }  # its UNO pipe and its single-instance pipe
    assert len(pipes) == 2 and all(not pipe.stat().st_mode & 0o022 for pipe in pipes)
    private = tmp_path / "private.docx"
    private.write_bytes(make_docx("私密 private"))
    private.chmod(0o600)
    stolen = tmp_path / "stolen.pdf"
    port = converter.instance.port
    for path in ("", "RPC2", "x", converter.instance.url.rsplit("/", 1)[1][:-1]):
        proxy = rpc_proxy(f"http://127.0.0.1:{port}/{path}", 10)
        with pytest.raises(xmlrpc.client.ProtocolError) as refused:
            proxy.convert(str(private), None, str(stolen), "pdf", None, [], False, None, None)
        assert refused.value.errcode == 404
    assert not stolen.exists()
    assert converts(converter)  # the owner's own requests still go through
    converter.instance.stop(graceful=False)  # killed: its pipe does not stay behind in /tmp
    assert not any(pipe.exists() for pipe in pipes)


def test_index_refresh_only_for_documents_with_a_table_of_contents() -> None:
    from workers.convert.converter import has_index

    assert not has_index(DOCUMENT)
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(make_docx("目錄")))  # a plain document...
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":  # ...given a TOC field
                field = b'<w:p><w:r><w:instrText xml:space="preserve"> TOC \\o "1-3" </w:instrText></w:r></w:p>'
                data = data.replace(b"<w:sectPr", field + b"<w:sectPr", 1)
            archive.writestr(item, data)
    assert has_index(out.getvalue())


# A worker process that starts an instance, says where its pipes are, and waits to be killed.
_OWNER = """
import sys, time, pathlib
from tests.helpers.processes import unoserver_config
from workers.convert.libreoffice import UnoserverProcess
instance = UnoserverProcess(unoserver_config(pathlib.Path(sys.argv[1]), 60))
instance.start()
print(*instance._pipe_paths(), sep="\\n", flush=True)
time.sleep(600)
"""


def _started_owner(tmp_path: Path) -> tuple[subprocess.Popen[str], list[Path]]:
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    pipes = [Path(owner.stdout.readline().strip()) for _ in range(2)]
    assert all(pipe.name.startswith("OSL_PIPE_") for pipe in pipes), pipes
    return owner, pipes


def test_a_killed_workers_instance_ends_with_it(tmp_path: Path) -> None:
    """A worker process killed by SIGKILL takes its unoserver and LibreOffice down (the
    parent-death signal setpriv sets)."""
    owner, _pipes = _started_owner(tmp_path)
    family = processes_using(Path(f"lo-profile-{owner.pid}-"))
    assert family, "its LibreOffice runs"
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    wait_until(lambda: not processes_using(Path(f"lo-profile-{owner.pid}-")), 30)


def test_the_pipes_a_killed_instance_leaves_go_with_its_profile(tmp_path: Path) -> None:
    """A worker and its LibreOffice killed together by SIGKILL (the kernel's OOM killer, a
    container's hard stop) leave LibreOffice's two pipes in /tmp; the next instance started
    there removes them with the dead owner's profile."""
    owner, pipes = _started_owner(tmp_path)
    family = [psutil.Process(owner.pid), *processes_using(Path(f"lo-profile-{owner.pid}-"))]
    for process in family:
        process.send_signal(signal.SIGKILL)
    owner.wait()
    wait_until(lambda: not processes_using(Path(f"lo-profile-{owner.pid}-")), 30)
    assert all(pipe.exists() for pipe in pipes), "what a SIGKILL leaves"
    successor = UnoserverProcess(unoserver_config(tmp_path, 60))
    successor.start()
    successor.stop()
    assert not any(pipe.exists() for pipe in pipes)
