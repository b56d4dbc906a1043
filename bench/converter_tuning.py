"""How much LibreOffice work one conversion costs, stock unoserver against docrender's tuning
(documents loaded hidden; indexes refreshed only where a document has one).

    .venv/bin/python bench/converter_tuning.py        (writes bench/results/converter_tuning.json)

Each variant gets its own warm instance and converts the five sample reports ROUNDS times, one
after the other; the LibreOffice CPU time is read from its processes before and after. The
PDFs of the two variants are compared (pages and text) so that speed is not bought with output.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import statistics
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docrender.settings import Settings  # noqa: E402
from workers.convert.converter import has_index  # noqa: E402
from workers.convert.libreoffice import (  # noqa: E402
    UnoserverConfig,
    UnoserverProcess,
    libreoffice_version,
    rpc_proxy,
)
from workers.fill.render import conversion_bytes, fill_template  # noqa: E402

ROUNDS = 10
VARIANTS = {
    "stock unoserver (update_index always)": (ROOT / ".venv-uno" / "bin" / "unoserver", False),
    "docrender (hidden load, index only if any)": (None, True),
}


class StockUnoserverProcess(UnoserverProcess):
    """Stock unoserver answers XML-RPC at /, not at a secret path."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def libreoffice_cpu(instance: UnoserverProcess) -> float:
    root = psutil.Process(instance._process.pid)  # type: ignore[union-attr]
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        if process.name() == "soffice.bin":
            times = process.cpu_times()
            total += times.user + times.system
    return total


def page_count_and_text(pdf: bytes) -> tuple[int, str]:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "".join(page.extract_text() for page in reader.pages)


def run_variant(entry: Path | None, tuned: bool, documents: list[bytes]) -> dict[str, Any]:
    settings = Settings.from_env({})
    with tempfile.TemporaryDirectory() as work:
        config = UnoserverConfig(
            unoserver_python=settings.unoserver_python,
            soffice_executable=settings.soffice_executable,
            conversion_timeout=120,
            start_timeout=120,
            work_dir=Path(work),
            log_file=Path(work) / "unoserver.log",
        )
        if entry is not None:
            config = dataclasses.replace(config, entry_script=entry)
        instance = (StockUnoserverProcess if entry is not None else UnoserverProcess)(config)
        instance.start()
        try:
            proxy = rpc_proxy(instance.url, 300)

            def convert(document: bytes) -> bytes:
                update_index = has_index(document) if tuned else True
                result: Any = proxy.convert(
                    None,
                    xmlrpc.client.Binary(document),
                    None,
                    "pdf",
                    None,
                    [],
                    update_index,
                    None,
                    None,
                )
                return bytes(result.data)

            outputs = [convert(d) for d in documents]  # warm-up round, also kept for checks
            cpu_before, wall_before = libreoffice_cpu(instance), time.perf_counter()
            per_document = []
            for _ in range(ROUNDS):
                for document in documents:
                    start = time.perf_counter()
                    convert(document)
                    per_document.append(time.perf_counter() - start)
            cpu = libreoffice_cpu(instance) - cpu_before
            wall = time.perf_counter() - wall_before
        finally:
            instance.stop()
    count = ROUNDS * len(documents)
    return {
        "conversions": count,
        "libreoffice_cpu_ms_per_document": round(cpu / count * 1000, 1),
        "wall_ms_per_document": round(wall / count * 1000, 1),
        "median_wall_ms": round(statistics.median(per_document) * 1000, 1),
        "outputs": outputs,
    }


def main() -> None:
    template = (ROOT / "templates" / "report.docx").read_bytes()
    reports = json.loads((ROOT / "templates" / "report-job.json").read_text())["documents"]
    documents = [conversion_bytes(fill_template(template, report["data"])) for report in reports]
    results = {
        name: run_variant(entry, tuned, documents) for name, (entry, tuned) in VARIANTS.items()
    }
    stock, tuned = (results[name].pop("outputs") for name in VARIANTS)
    same = [
        page_count_and_text(a) == page_count_and_text(b) for a, b in zip(stock, tuned, strict=True)
    ]
    (baseline, ours) = (results[name]["libreoffice_cpu_ms_per_document"] for name in VARIANTS)
    report = {
        "what": "LibreOffice CPU per conversion of the five sample reports (3-11 pages)",
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, {platform.python_version()}",
        "libreoffice": libreoffice_version(Settings.from_env().soffice_executable),
        "variants": results,
        "cpu_saved": f"{(1 - ours / baseline) * 100:.0f}%",
        "same_pages_and_text": all(same),
    }
    out = ROOT / "bench" / "results" / "converter_tuning.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
