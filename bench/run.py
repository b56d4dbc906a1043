"""docrender against LibreOffice's own limit, on this machine, in one run.

    make bench        (writes bench/results/bench.json and prints a table)

1. docrender, warm, through HTTP (gunicorn, Redis, Celery, one LibreOffice per core):
   100 sample reports (3-11 pages) and 500 one-page scoring sheets, from the POST to the last
   PDF downloaded;
2. the raw LibreOffice floor: the same 100 rendered reports converted by
   `soffice --headless --convert-to pdf`, one batch process per core with its own profile,
   wall time after start-up;
3. latency: one-document jobs, submit to downloaded PDF, median of 20, against the bare
   conversion of the same document on a warm instance.
Page counts of docrender's and the floor's PDFs are compared. BENCH_WORKERS sets the number of
worker processes (each with its own LibreOffice); the default is one per core.
"""

from __future__ import annotations

import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

import docx
import httpx
import psutil
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docrender.settings import Settings  # noqa: E402
from docrender.stack import free_port, start_api, start_redis, start_worker  # noqa: E402
from workers.converter import has_index  # noqa: E402
from workers.render import render_docx  # noqa: E402
from workers.supervisor import UnoserverConfig, UnoserverProcess, rpc_proxy  # noqa: E402

CORES = psutil.cpu_count() or 1
KEY = "bench-key"


class Sampler:
    """Peak resident memory and CPU seconds of a process tree while a workload runs."""

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.peak_rss, self._stop = roots, 0, threading.Event()
        self._cpu: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _processes(self) -> list[psutil.Process]:
        found = []
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return found

    def _sample(self) -> None:
        rss = 0
        for process in self._processes():
            try:
                rss += process.memory_info().rss
                times = process.cpu_times()
                self._cpu[process.pid] = times.user + times.system + times.children_user
            except psutil.NoSuchProcess:
                pass
        self.peak_rss = max(self.peak_rss, rss)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self._start_cpu = dict(self._cpu)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self._start_cpu.get(pid, 0.0) for pid, cpu in self._cpu.items())


def scoring_sheet_template() -> bytes:
    """A one-page document with a table: the workload where per-document overhead dominates."""
    document = docx.Document()
    document.add_heading("{{ unit }} 民族團結進步創建考核評分表", level=1)
    table = document.add_table(rows=3, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("項目", "分值", "得分"), strict=True):
        cell.text = text
    table.cell(1, 0).text = "{%tr for row in rows %}"
    table.cell(2, 0).text, table.cell(2, 1).text = "{{ row.item }}", "{{ row.max }}"
    table.cell(2, 2).text = "{{ row.score }}"
    table.add_row().cells[0].text = "{%tr endfor %}"
    document.add_paragraph("總分:{{ total }}    評定日期:{{ date }}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def scoring_rows(i: int) -> dict[str, Any]:
    items = ["組織領導", "宣傳教育", "政策落實", "交往交流", "成效"]
    rows = [{"item": item, "max": 20, "score": 12 + (i + k) % 9} for k, item in enumerate(items)]
    return {"unit": f"第{i + 1}單位", "rows": rows, "total": sum(r["score"] for r in rows),
            "date": "2012年5月"}  # fmt: skip


def run_batch(http: httpx.Client, template: str, documents: list[dict[str, Any]],
              roots: list[int]) -> tuple[dict[str, Any], list[bytes]]:  # fmt: skip
    with Sampler(roots) as sampler:
        started = time.perf_counter()
        job = http.post("/v1/jobs", json={"template": template, "documents": documents}).json()
        while job["finished_at"] is None:
            job = http.get(f"/v1/jobs/{job['id']}?wait=60").json()
        pdfs = [http.get(d["url"]).content for d in job["documents"]]
        wall = time.perf_counter() - started
    assert job["status"] == "succeeded", job["progress"]
    count = len(documents)
    return {
        "documents": count,
        "wall_s": round(wall, 2),
        "documents_per_s": round(count / wall, 2),
        "cpu_s_per_document": round(sampler.cpu_seconds / count, 3),
        "peak_rss_mib": round(sampler.peak_rss / 2**20),
    }, pdfs


def libreoffice_floor(documents: list[bytes], work: Path) -> tuple[dict[str, Any], list[bytes]]:
    """One `soffice --convert-to` batch per core, each with its own (already created)
    profile; the start-up of a batch is measured on a one-file batch and taken off."""
    batches = [list(range(i, len(documents), CORES)) for i in range(CORES)]
    profiles = [work / f"profile-{i}" for i in range(CORES)]
    inputs = work / "in"
    inputs.mkdir(parents=True)
    for index, document in enumerate(documents):
        (inputs / f"{index:03d}.docx").write_bytes(document)

    def soffice(profile: Path, files: list[Path], outdir: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
             "--convert-to", "pdf", "--outdir", str(outdir), *map(str, files)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def timed(batch_files: list[list[Path]], outdir: Path) -> tuple[float, float]:
        """Wall seconds and CPU seconds (of the finished children) of one parallel run."""
        before, started = _children_cpu(), time.perf_counter()
        runs = [soffice(p, files, outdir) for p, files in zip(profiles, batch_files, strict=True)]
        for run in runs:
            run.wait()
        return time.perf_counter() - started, _children_cpu() - before

    first = [[inputs / "000.docx"] for _ in profiles]
    timed(first, work / "warm")  # creates the profiles
    startup, startup_cpu = timed(first, work / "startup")
    files = [[inputs / f"{i:03d}.docx" for i in batch] for batch in batches]
    wall, batch_cpu = timed(files, work / "out")
    after_startup = wall - startup
    pdfs = [(work / "out" / f"{i:03d}.pdf").read_bytes() for i in range(len(documents))]
    return {
        "documents": len(documents),
        "processes": CORES,
        "wall_s": round(after_startup, 2),
        "wall_with_startup_s": round(wall, 2),
        "documents_per_s": round(len(documents) / after_startup, 2),
        "cpu_s_per_document": round((batch_cpu - startup_cpu) / len(documents), 3),
    }, pdfs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_conversion_ms(document: bytes, settings: Settings, work: Path) -> float:
    instance = UnoserverProcess(UnoserverConfig(
        unoserver_python=settings.unoserver_python, soffice_executable=settings.soffice_executable,
        conversion_timeout=120, start_timeout=120, work_dir=work, log_file=work / "uno.log",
    ))  # fmt: skip
    instance.start()
    try:
        proxy, times = rpc_proxy(instance.url, 120), []
        for _ in range(21):
            started = time.perf_counter()
            proxy.convert(None, xmlrpc.client.Binary(document), None, "pdf", None, [],
                          has_index(document), None, None)  # fmt: skip
            times.append(time.perf_counter() - started)
        return statistics.median(times[1:]) * 1000
    finally:
        instance.stop()


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    reports = json.loads((ROOT / "templates" / "report-job.json").read_text())["documents"]
    report_template = (ROOT / "templates" / "report.docx").read_bytes()
    hundred = [{"data": reports[i % 5]["data"], "name": f"report-{i:03d}"} for i in range(100)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCRENDER_")}
        workers = os.environ.get("BENCH_WORKERS", str(CORES))  # worker processes = instances
        env.update(DOCRENDER_DATA_DIR=str(work / "data"), DOCRENDER_WORKERS=workers,
                   DOCRENDER_API_KEYS=f"bench:{KEY}")  # fmt: skip
        redis_process, env["DOCRENDER_REDIS_URL"] = start_redis(work / "data", free_port())
        bind = f"127.0.0.1:{free_port()}"
        worker = start_worker(env)
        api = start_api(env, bind, 2)
        roots = [worker.process.pid, api.process.pid, redis_process.process.pid]
        settings = Settings.from_env(env)
        try:
            with httpx.Client(base_url=f"http://{bind}", headers={"Authorization": f"Bearer {KEY}"},
                              timeout=120) as http:  # fmt: skip
                while http.get("/readyz").status_code != 200:
                    time.sleep(0.5)
                upload = http.post("/v1/templates", files={"file": ("r.docx", report_template)})
                template = upload.json()["id"]
                run_batch(http, template, hundred[:10], roots)  # warm-up
                reports_result, our_pdfs = run_batch(http, template, hundred, roots)
                sheet = http.post(
                    "/v1/templates", files={"file": ("s.docx", scoring_sheet_template())}
                )
                sheets = [{"data": scoring_rows(i)} for i in range(500)]
                run_batch(http, sheet.json()["id"], sheets[:10], roots)  # warm-up
                sheets_result, _ = run_batch(http, sheet.json()["id"], sheets, roots)
                latencies = []
                for i in range(20):
                    started = time.perf_counter()
                    job = http.post("/v1/jobs", json={"template": template,
                                                      "documents": [hundred[i % 5]]}).json()  # fmt: skip
                    while job["finished_at"] is None:
                        job = http.get(f"/v1/jobs/{job['id']}?wait=60").json()
                    http.get(job["documents"][0]["url"]).raise_for_status()
                    latencies.append(time.perf_counter() - started)
        finally:
            api.stop(20)
            worker.stop(60)
            redis_process.stop(10)
        rendered = [render_docx(report_template, d["data"]) for d in hundred]
        floor, floor_pdfs = libreoffice_floor(rendered, work / "floor")
        bare = bare_conversion_ms(rendered[0], settings, work / "bare")
        shutil.rmtree(work / "floor", ignore_errors=True)

    latency_ms = statistics.median(latencies) * 1000
    result = {
        "machine": f"{platform.machine()}, {CORES} cores, {psutil.virtual_memory().total // 2**30} GiB",
        "docrender_100_reports": reports_result,
        "docrender_500_one_page": sheets_result,
        "libreoffice_floor_100_reports": floor,
        "latency": {
            "single_document_job_median_ms": round(latency_ms),
            "bare_conversion_median_ms": round(bare),
            "ratio": round(latency_ms / bare, 2),
        },
        "ratios": {
            "docrender_wall_over_floor": round(reports_result["wall_s"] / floor["wall_s"], 2),
        },
        "same_page_counts": [pages(p) for p in our_pdfs] == [pages(p) for p in floor_pdfs],
        "not_measured_yet": [
            "carbone",
            "endurance (see tests/e2e/test_faults.py soak)",
            "API submissions/polls per second",
        ],
    }
    out = ROOT / "bench" / "results" / "bench.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
