"""docrender against LibreOffice's own limit and against Carbone, on this machine, in one run.

    make bench                       (all sections; writes bench/results/bench.json and .png)
    .venv/bin/python bench/run.py --only docrender,floor     (some sections, others kept)

Sections:
  docrender  100 sample reports (3-11 pages) and 500 one-page scoring sheets through HTTP
             (gunicorn, Redis, Celery, one LibreOffice per core), warm, from the POST to the last
             PDF downloaded;
  floor      the same 100 rendered reports converted by `soffice --headless --convert-to pdf`,
             one batch process per core with its own profile, wall time after start-up; the
             median of three runs;
  carbone    Carbone 3.8.2 (bench/carbone, `factories` = cores) on equivalent templates
             (bench/carbone_templates.py), the same 100 reports and 500 sheets;
  latency    one-document jobs, submit to downloaded PDF, three runs of 20 (their medians),
             each against the bare conversion of the same package on a warm instance;
  endurance  1,000 reports in one job: throughput of the first and last hundred (from the
             stored files' times), LibreOffice's resident memory over the run;
  api        job submissions and status polls per second with wrk on loopback, against an API
             and Redis of their own with no worker (so LibreOffice does not share the cores);
  storage    the 100 reports again with local storage and with S3 storage (moto's standalone
             S3 server on loopback): what the network store costs per document;
  batch      the 100 reports at DOCRENDER_BATCH_SIZE 1 (each converted alone) to 32: speed,
             LibreOffice CPU and memory per instance, PDF weight against size 1;
  fonts      what giving each cut document its own fonts costs per document (worker CPU);
  profile    the 100 reports again with py-spy sampling the worker processes (not timed: the
             sampler slows them); what their busy time went to, by function, in
             bench/results/worker-profile.txt.
Each batch reports wall time, documents/s, CPU seconds per document (split by process) and peak
memory. Page counts of docrender's, the floor's and Carbone's PDFs are compared.
BENCH_WORKERS sets the number of worker processes (each with its own LibreOffice); default: cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import httpx
import pikepdf
import psutil
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import carbone_templates  # noqa: E402

from cli.processes import ManagedProcess, start_api, start_redis, start_worker  # noqa: E402
from docrender.processes import free_port  # noqa: E402
from docrender.settings import Settings  # noqa: E402
from workers.convert import batching  # noqa: E402
from workers.convert.converter import UnoserverConverter  # noqa: E402
from workers.convert.libreoffice import (  # noqa: E402
    UnoserverConfig,
    UnoserverProcess,
    libreoffice_version,
)
from workers.convert.supervisor import Supervisor  # noqa: E402
from workers.fill import grid  # noqa: E402
from workers.fill.render import (  # noqa: E402
    conversion_bytes,
    fill_template,
    settle_language,
)
from workers.pdf import separation  # noqa: E402

CORES = psutil.cpu_count() or 1
KEY = "bench-key"
CALM_KEY = "calm-key"  # the normal tenant beside the hostile one (bench_tenants)
RESULTS = ROOT / "bench" / "results"
SECTIONS = (
    "docrender",
    "floor",
    "carbone",
    "latency",
    "endurance",
    "api",
    "storage",
    "batch",
    "fonts",
    "tenants",
    "profile",
)
CARBONE_DIR = ROOT / "bench" / "carbone"
# Carbone finds soffice.bin on PATH and needs a python3 that imports uno (Debian's).
CARBONE_PATH = "/usr/lib/libreoffice/program:/usr/bin:/bin"


# -- measuring -------------------------------------------------------------------------------


def process_kind(process: psutil.Process) -> str:
    name, command = process.name(), " ".join(process.cmdline())
    if name in ("soffice.bin", "oosplash"):
        return "libreoffice"
    for kind, mark in (
        ("unoserver", "unoserver"),
        ("api", "gunicorn"),
        ("redis", "redis-server"),
        ("carbone", "node"),
        ("carbone", "converter.py"),
    ):
        if mark in command:
            return kind
    return "worker"


class Sampler:
    """CPU seconds by kind of process, peak resident memory, and LibreOffice's resident memory
    over time, of the process trees under ``roots`` while a workload runs."""

    def __init__(self, roots: list[int], interval: float = 0.2) -> None:
        self.roots, self.interval = roots, interval
        self.peak_rss = 0
        self.libreoffice_rss: list[tuple[float, int]] = []
        self.libreoffice_instance_peak = 0  # the most one soffice.bin held
        self._cpu: dict[int, tuple[str, float]] = {}
        self._start_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.perf_counter()

    def _processes(self) -> list[psutil.Process]:
        found = []
        for pid in self.roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
        return found

    def _sample(self) -> None:
        rss = office_rss = 0
        for process in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                memory, times = process.memory_info().rss, process.cpu_times()
                kind = (
                    self._cpu[process.pid][0] if process.pid in self._cpu else process_kind(process)
                )
                self._cpu[process.pid] = (kind, times.user + times.system)
                rss += memory
                if kind == "libreoffice":
                    office_rss += memory
                    self.libreoffice_instance_peak = max(self.libreoffice_instance_peak, memory)
        self.peak_rss = max(self.peak_rss, rss)
        self.libreoffice_rss.append((time.perf_counter() - self._started, office_rss))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self._start_cpu = {pid: cpu for pid, (_, cpu) in self._cpu.items()}
        self._started = time.perf_counter()
        self.libreoffice_rss = []
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds spent while sampling. A process that exited between two samples loses
        its last fraction of a second; recycled LibreOffice instances are counted until then."""
        totals: dict[str, float] = defaultdict(float)
        for pid, (kind, cpu) in self._cpu.items():
            totals[kind] += cpu - self._start_cpu.get(pid, 0.0)
        return dict(totals)


def batch_result(count: int, wall: float, sampler: Sampler) -> dict[str, Any]:
    by_kind = sampler.cpu_by_kind()
    return {
        "documents": count,
        "wall_s": round(wall, 2),
        "documents_per_s": round(count / wall, 2),
        "cpu_s_per_document": round(sum(by_kind.values()) / count, 3),
        "cpu_ms_per_document_by_process": {
            kind: round(cpu / count * 1000, 1) for kind, cpu in sorted(by_kind.items())
        },
        "peak_rss_mib": round(sampler.peak_rss / 2**20),
        "libreoffice_instance_peak_rss_mib": round(sampler.libreoffice_instance_peak / 2**20),
    }


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- workloads -------------------------------------------------------------------------------


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
    return {
        "unit": f"第{i + 1}單位",
        "rows": rows,
        "total": sum(r["score"] for r in rows),
        "date": "2012年5月",
    }


@dataclass(frozen=True)
class Workloads:
    report_template: bytes
    reports: list[dict[str, Any]]  # data of the 100 reports
    sheets: list[dict[str, Any]]  # data of the 500 one-page sheets

    @classmethod
    def load(cls) -> Workloads:
        seeds = json.loads((ROOT / "templates" / "report-job.json").read_text())["documents"]
        return cls(
            report_template=(ROOT / "templates" / "report.docx").read_bytes(),
            reports=[seeds[i % 5]["data"] for i in range(100)],
            sheets=[scoring_rows(i) for i in range(500)],
        )


# -- docrender through HTTP ------------------------------------------------------------------


@dataclass
class Stack:
    http: httpx.Client
    roots: list[int]
    files: Path  # where the stack stores documents
    settings: Settings


@contextlib.contextmanager
def docrender_stack(
    work: Path,
    *,
    with_worker: bool = True,
    api_processes: int = 2,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCRENDER_")}
    workers = os.environ.get("BENCH_WORKERS", str(CORES))  # worker processes = instances
    # One tenant makes all the load here: its rate limit is lifted (but still counted).
    env.update(
        DOCRENDER_DATA_DIR=str(work / "data"),
        DOCRENDER_WORKERS=workers,
        DOCRENDER_API_KEYS=f"bench:{KEY}",
        DOCRENDER_RATE_LIMIT="1000000/second",
        DOCRENDER_READ_RATE_LIMIT="1000000/second",
    )
    env.update(extra_env or {})
    redis_process, env["DOCRENDER_REDIS_URL"] = start_redis(work / "data", free_port())
    bind = env["DOCRENDER_BIND"] = f"127.0.0.1:{free_port()}"
    env["DOCRENDER_API_PROCESSES"] = str(api_processes)
    # Logs to files, as a deployment keeps them (gunicorn writes an access log line a request).
    worker = start_worker(env, work / "worker.log") if with_worker else None
    api = start_api(env, bind, work / "api.log")
    roots = [api.process.pid, redis_process.process.pid]
    roots += [worker.process.pid] if worker else []
    try:
        with httpx.Client(
            base_url=f"http://{bind}", headers={"Authorization": f"Bearer {KEY}"}, timeout=120
        ) as http:
            if worker:
                while http.get("/readyz").status_code != 200:
                    time.sleep(0.5)
            yield Stack(http, roots, work / "data" / "files", Settings.from_env(env))
    finally:
        api.stop(20)
        if worker:
            worker.stop(60)
        redis_process.stop(10)


@contextlib.contextmanager
def s3_store(work: Path) -> Iterator[dict[str, str]]:
    """moto's standalone S3 server on loopback, with a bucket: the settings that use it."""
    import boto3

    port = free_port()
    server = ManagedProcess(
        "moto",
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        os.environ,
        work / "moto.log",
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: _http_answers(endpoint), 60, "moto did not start")
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        yield {
            "DOCRENDER_STORAGE": "s3",
            "DOCRENDER_S3_BUCKET": "bench",
            "DOCRENDER_S3_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    finally:
        server.stop(10)


def _http_answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


def bench_storage(work: Workloads, tmp: Path) -> dict[str, Any]:
    """The same 100 reports with each storage backend, warm."""
    results: dict[str, Any] = {}
    with s3_store(tmp) as s3_env:
        for backend, extra in (("local", {}), ("s3", s3_env)):
            with docrender_stack(tmp / f"storage-{backend}", extra_env=extra) as stack:
                report = upload(stack, "report.docx", work.report_template)
                run_batch(stack, report, work.reports[:10])  # warm-up
                results[backend], _, _ = run_batch(stack, report, work.reports)
    local, s3 = results["local"]["wall_s"], results["s3"]["wall_s"]
    results["s3_cost_ms_per_document"] = round((s3 - local) / len(work.reports) * 1000, 1)
    return results


def upload(stack: Stack, name: str, template: bytes) -> str:
    response = stack.http.post("/v1/templates", files={"file": (name, template)})
    response.raise_for_status()
    return str(response.json()["id"])


def wait_for_job(stack: Stack, job: dict[str, Any]) -> dict[str, Any]:
    while job["finished_at"] is None:
        job = stack.http.get(f"/v1/jobs/{job['id']}?wait=60").json()
    assert job["status"] == "succeeded", job["progress"]
    return job


def run_batch(
    stack: Stack, template: str, documents: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[bytes], dict[str, Any]]:
    """One job through HTTP, from the POST to the last PDF downloaded."""
    body = {"template": template, "documents": [{"data": data} for data in documents]}
    with Sampler(stack.roots) as sampler:
        started = time.perf_counter()
        job = wait_for_job(stack, stack.http.post("/v1/jobs", json=body).json())
        pdfs = [stack.http.get(document["url"]).content for document in job["documents"]]
        wall = time.perf_counter() - started
    return batch_result(len(documents), wall, sampler), pdfs, job


def bench_docrender(stack: Stack, work: Workloads) -> tuple[dict[str, Any], list[int]]:
    report = upload(stack, "report.docx", work.report_template)
    sheet = upload(stack, "sheet.docx", scoring_sheet_template())
    run_batch(stack, report, work.reports[:10])  # warm-up
    reports, pdfs, _ = run_batch(stack, report, work.reports)
    run_batch(stack, sheet, work.sheets[:10])
    sheets, _, _ = run_batch(stack, sheet, work.sheets)
    return {"100_reports": reports, "500_one_page": sheets}, [pages(pdf) for pdf in pdfs]


def bench_latency(stack: Stack, work: Workloads) -> dict[str, Any]:
    """Three runs of twenty one-document jobs (after one to warm up), each job followed by a
    bare conversion of the same package on a warm instance of the worker's kind, so that both
    medians of a run see the machine in the same state (its speed wanders by tens of percent
    from minute to minute)."""
    report = upload(stack, "report.docx", work.report_template)
    package = as_converted(work.report_template, work.reports[0])
    body = {"template": report, "documents": [{"data": work.reports[0]}]}
    runs = []
    with bare_converter(stack.settings) as converter:
        for _ in range(3):
            jobs, bare = [], []
            for _ in range(21):
                started = time.perf_counter()
                job = wait_for_job(stack, stack.http.post("/v1/jobs", json=body).json())
                stack.http.get(job["documents"][0]["url"]).raise_for_status()
                jobs.append(time.perf_counter() - started)
                started = time.perf_counter()
                converter.convert(package, "pdf")
                bare.append(time.perf_counter() - started)
            job_ms, bare_ms = (statistics.median(times[1:]) * 1000 for times in (jobs, bare))
            runs.append(
                {
                    "single_document_job_median_ms": round(job_ms),
                    "bare_conversion_median_ms": round(bare_ms),
                    "ratio": round(job_ms / bare_ms, 2),
                }
            )
    return {"runs": runs, "ratio": statistics.median(run["ratio"] for run in runs)}


def as_converted(template: bytes, data: dict[str, Any]) -> bytes:
    """The DOCX a worker hands LibreOffice for this document (workers/tasks._fill): filled,
    its Chinese forms settled, its character grid fitted."""
    document = fill_template(template, data)
    settle_language(document, None)
    grid.fit_character_grid(document)
    return conversion_bytes(document)


@contextlib.contextmanager
def bare_converter(settings: Settings) -> Iterator[UnoserverConverter]:
    """A converter of the worker's kind (unoserver and LibreOffice as the worker runs them),
    with nothing around it."""
    with tempfile.TemporaryDirectory() as tmp:
        instance = UnoserverProcess(
            UnoserverConfig(
                unoserver_python=settings.unoserver_python,
                soffice_executable=settings.soffice_executable,
                conversion_timeout=120,
                start_timeout=120,
                work_dir=Path(tmp),
                log_file=Path(tmp) / "uno.log",
            )
        )
        converter = UnoserverConverter(
            Supervisor(instance, recycle_after=10**6), client_timeout=120
        )
        try:
            yield converter
        finally:
            converter.stop()


def bench_endurance(stack: Stack, work: Workloads) -> dict[str, Any]:
    report = upload(stack, "report.docx", work.report_template)
    thousand = [work.reports[i % 100] for i in range(1000)]
    body = {"template": report, "documents": [{"data": data} for data in thousand]}
    with Sampler(stack.roots, interval=0.5) as sampler:
        started = time.perf_counter()
        job = wait_for_job(stack, stack.http.post("/v1/jobs", json=body).json())
        wall = time.perf_counter() - started
    # When each PDF was stored: the spans of the first and of the last hundred completions.
    stored = sorted(
        p.stat().st_mtime
        for p in (stack.files / "jobs" / job["id"]).glob("*.pdf")
        if p.stem.isdigit()
    )
    first, last = 100 / (stored[100] - stored[0]), 100 / (stored[-1] - stored[-101])
    office_mib = [round(rss / 2**20) for _, rss in sampler.libreoffice_rss]
    return {
        **batch_result(len(thousand), wall, sampler),
        "first_hundred_documents_per_s": round(first, 2),
        "last_hundred_documents_per_s": round(last, 2),
        "last_over_first_time": round(first / last, 2),
        "recycle_after_conversions": stack.settings.converter_recycle_after,
        "libreoffice_rss_mib": {
            "interval_s": 0.5,
            "peak": max(office_mib),
            "first_minute_peak": max(office_mib[:120]),
            "last_minute_peak": max(office_mib[-120:]),
            "series": office_mib,
        },
    }


# -- batch size, memory and weight -----------------------------------------------------------

BATCH_SIZES = (1, 2, 4, 8, 12, 16, 24, 32)


def bench_batch_sizes(work: Workloads, tmp: Path) -> dict[str, Any]:
    """The 100 reports with DOCRENDER_BATCH_SIZE from 1 (each document converted alone) up, a
    stack each: where the speed gain flattens, what a size costs in LibreOffice memory, and
    what the PDFs weigh against the same documents converted alone (size 1)."""
    sizes: dict[str, Any] = {}
    for size in BATCH_SIZES:
        env = {"DOCRENDER_BATCH_SIZE": str(size)}
        with docrender_stack(tmp / f"batch-{size}", extra_env=env) as stack:
            report = upload(stack, "report.docx", work.report_template)
            run_batch(stack, report, work.reports[:10])  # warm-up
            result, pdfs, _ = run_batch(stack, report, work.reports)
        sizes[str(size)] = {**result, "pdf_bytes": sum(map(len, pdfs))}
    alone = sizes["1"]
    for measured in sizes.values():
        measured["weight_over_alone"] = round(measured["pdf_bytes"] / alone["pdf_bytes"], 3)
        measured["libreoffice_cpu_ms_per_document"] = measured[
            "cpu_ms_per_document_by_process"
        ].get("libreoffice", 0.0)
    return {"sizes": sizes}


def _fonts_left_shared(combined: pikepdf.Pdf, documents: Sequence[range]) -> list[bool]:
    """``separation.separate`` turned off: every cut keeps the group's fonts."""
    return [True] * len(documents)


def own_fonts_cost(work: Workloads) -> dict[str, Any]:
    """What giving each cut document only its own fonts and glyphs costs
    (workers/pdf/separation.py), in the
    worker's CPU per document: the 100 reports converted in groups of the default batch size
    on one warm instance, each group's cut timed with and without it."""
    separate, size = separation.separate, Settings().batch_size
    timed: dict[str, float] = {"with": 0.0, "without": 0.0}
    weights: dict[str, int] = {"with": 0, "without": 0}
    with bare_converter(Settings.from_env()) as converter:
        for start in range(0, len(work.reports), size):
            group = work.reports[start : start + size]
            filled = [fill_template(work.report_template, data) for data in group]
            combined = converter.convert(
                conversion_bytes(batching.combine(filled)), "pdf", batching.SPLIT_FILTER_OPTIONS
            )
            for label in ("with", "without"):
                if label == "without":
                    separation.separate = _fonts_left_shared
                documents = [fill_template(work.report_template, data) for data in group]
                began = time.process_time()
                parts = batching.split(combined, documents)
                timed[label] += time.process_time() - began
                weights[label] += sum(len(part.pdf or b"") for part in parts)
                separation.separate = separate
    count = len(work.reports)
    return {
        "cut_cpu_ms_per_document_with_own_fonts": round(timed["with"] / count * 1000, 1),
        "cut_cpu_ms_per_document_shared_fonts": round(timed["without"] / count * 1000, 1),
        "own_fonts_cpu_ms_per_document": round(
            (timed["with"] - timed["without"]) / count * 1000, 1
        ),
        "pdf_bytes_with_own_fonts": weights["with"],
        "pdf_bytes_shared_fonts": weights["without"],
    }


# Frames where a worker waits rather than works (the leaf function of a sample).
_WAITING = re.compile(
    r"^(select|poll|epoll|wait|_recv|recv|recv_into|read|readline|accept|sleep)\b"
)


def profile_worker(stack: Stack, work: Workloads, out: Path, rate: int = 200) -> None:
    """The 100 reports with py-spy (PyPI) sampling every worker process at ``rate`` Hz; the
    share of busy samples (a sample whose innermost frame is not a wait) in which each
    function was on the stack, for the functions of docrender, docxtpl, python-docx, pikepdf
    and fontTools that took at least 1 %."""
    report = upload(stack, "report.docx", work.report_template)
    run_batch(stack, report, work.reports[:30])  # warm-up
    worker = next(pid for pid in stack.roots if process_kind(psutil.Process(pid)) == "worker")
    raw = out.with_suffix(".raw")
    spy = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "py-spy"),
            *("record", "--pid", str(worker), "--subprocesses", "--nonblocking"),
            *("--rate", str(rate), "--format", "raw", "--output", str(raw)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)  # py-spy attaches
        run_batch(stack, report, work.reports)
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    shares: dict[str, int] = defaultdict(int)
    busy = 0
    for line in raw.read_text().splitlines():
        stack_text, samples = line.rsplit(" ", 1)
        frames = stack_text.split(";")
        if _WAITING.match(frames[-1]):
            continue
        busy += int(samples)
        for name in {re.sub(r":\d+\)$", ")", frame) for frame in frames}:
            shares[name] += int(samples)
    raw.unlink()
    mine = ("workers/", "docrender/", "docxtpl/", "docx/", "pikepdf/", "fontTools/", "numpy/")
    lines = [
        f"# py-spy {rate} Hz over the 100 sample reports, {time.strftime('%Y-%m-%d %H:%M')} UTC,",
        f"# LibreOffice {libreoffice_version(Settings.from_env().soffice_executable)};"
        f" {busy} busy samples. Share of busy samples with the function on the stack:",
    ]
    for name, count in sorted(shares.items(), key=lambda item: -item[1]):
        if count / busy >= 0.01 and any(part in name for part in mine):
            lines.append(f"{100 * count / busy:5.1f} %  {name}")
    out.write_text("\n".join(lines) + "\n")


# -- API capacity ----------------------------------------------------------------------------


def bench_tenants(work: Workloads, tmp: Path) -> dict[str, Any]:
    """A hostile tenant beside a normal one: for each of issue 24's attacks on the API, what it
    answered and how long it took, the peak growth of the API processes' resident memory while
    it ran, and the normal tenant's GET /v1/templates latency meanwhile (one request every
    0.1 s: median and worst). The files are the tests' own hostile ones (tests/helpers)."""
    from tests.helpers.documents import make_docx, many_paragraphs, sheet_claiming

    keys = f"bench:{KEY},calm:{CALM_KEY}"
    with docrender_stack(tmp / "tenants", extra_env={"DOCRENDER_API_KEYS": keys}) as stack:
        hostile = stack.http
        template = upload(stack, "t.docx", make_docx("{{ unit }}"))
        annexed = upload(stack, "a.docx", make_docx("{{ unit }}", "{{p annex }}"))
        report = upload(stack, "report.docx", work.report_template)
        annex = many_paragraphs(3_000_000)
        rows = json.dumps([{"unit": "甲", "annex": {"type": "docx", "file": "annex.docx"}}])

        def name_patterns() -> list[int]:
            body = {
                "template": template,
                "name": "{{ n|thousands }}",
                "strict": False,
                "documents": [{"data": {"unit": "甲", "n": "1e1100000"}}],
            }
            return _in_parallel(2, lambda: hostile.post("/v1/jobs", json=body).status_code)

        def sheet() -> list[int]:
            files = {"data": ("units.xlsx", sheet_claiming("A1:XFD8000", 8000))}
            return [hostile.post("/v1/jobs", data={"template": template}, files=files).status_code]

        def formats() -> list[int]:
            files = {"data": ("units.xlsx", _format_bomb(40, 16_000))}
            return [hostile.post("/v1/jobs", data={"template": template}, files=files).status_code]

        def subdocument() -> list[int]:
            files = [("data", ("units.json", rows.encode())), ("files", ("annex.docx", annex))]
            return [hostile.post("/v1/jobs", data={"template": annexed}, files=files).status_code]

        def long_polls() -> list[int]:
            body = {
                "template": report,
                "documents": [{"data": work.reports[i % len(work.reports)]} for i in range(800)],
            }
            job = hostile.post("/v1/jobs", json=body).json()
            deadline = time.monotonic() + 25

            def poll() -> int:
                answers = []
                while time.monotonic() < deadline:
                    answer = hostile.get(f"/v1/jobs/{job['id']}?wait=20")
                    answers.append(answer.status_code)
                    if answer.status_code == 429:
                        time.sleep(int(answer.headers["Retry-After"]))
                return answers.count(429)

            refused = _in_parallel(40, poll)
            hostile.post(f"/v1/jobs/{job['id']}/cancel")
            return [sum(refused)]  # 429s the pollers met and waited out

        with httpx.Client(
            base_url=stack.http.base_url,
            timeout=120,
            headers={"Authorization": f"Bearer {CALM_KEY}"},
        ) as calm:
            results: dict[str, Any] = {"calm_alone": _beside(stack, calm, lambda: time.sleep(3))}
            for name, attack in (
                ("number_1e1100000_in_a_name_pattern_x2", name_patterns),
                ("sheet_claiming_A1_XFD8000", sheet),
                ("number_formats_of_16000_characters_x40", formats),
                ("annex_of_3_million_paragraphs", subdocument),
                ("40_long_polls_beside_800_reports", long_polls),
            ):
                results[name] = _beside(stack, calm, attack)
    return results


def _in_parallel(count: int, action: Any) -> list[Any]:
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(action())) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _format_bomb(cells: int, length: int) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["unit", "n"])
    for row in range(cells):
        book.active.append([f"單位{row}", 0.5])
        book.active.cell(row + 2, 2).number_format = (
            "# " + "?" * (length // 2) + "/" + "?" * (length // 2)
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _beside(stack: Stack, calm: httpx.Client, attack: Any) -> dict[str, Any]:
    """``attack()`` (its answers), with the API's memory and the calm tenant's latency."""
    api = [
        p
        for root in stack.roots
        for p in [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
        if process_kind(p) == "api"
    ]

    def api_rss() -> int:
        total = 0
        for process in api:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    before, peak, latencies = api_rss(), [api_rss()], []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            peak.append(api_rss())
            started = time.perf_counter()
            calm.get("/v1/templates").raise_for_status()
            latencies.append(time.perf_counter() - started)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    answers = attack()
    seconds = time.perf_counter() - started
    time.sleep(max(0.0, 1 - seconds))  # a second at least of the calm tenant's requests
    done.set()
    watcher.join()
    return {
        "answers": answers,
        "attack_s": round(seconds, 2),
        "api_peak_growth_mib": round((max(peak) - before) / 2**20),
        "calm_latency_median_ms": round(statistics.median(latencies) * 1000, 1),
        "calm_latency_max_ms": round(max(latencies) * 1000, 1),
        "calm_requests": len(latencies),
    }


def bench_api(stack: Stack, work: Path) -> dict[str, Any]:
    sheet = upload(stack, "sheet.docx", scoring_sheet_template())
    submit = json.dumps({"template": sheet, "documents": [{"data": scoring_rows(0)}]})
    job = stack.http.post(
        "/v1/jobs",
        json={
            "template": sheet,
            "documents": [{"data": scoring_rows(i)} for i in range(5)],
        },
    ).json()
    base = str(stack.http.base_url).rstrip("/")
    script = work / "submit.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(submit, ensure_ascii=True)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {KEY}"\n'
    )
    auth = ["-H", f"Authorization: Bearer {KEY}"]
    # Polls first: the thousands of jobs the submissions leave make Redis rewrite its log.
    polls = wrk([*auth, f"{base}/v1/jobs/{job['id']}"])
    return {
        "gunicorn": f"{CORES} processes x 16 threads (gthread), access log to a file",
        "load": "wrk, 2 threads, 32 connections, median of 3 runs of 5 s, on the same two cores",
        "status_polls_5_document_job": polls,
        "job_submissions": wrk(["-s", str(script), f"{base}/v1/jobs"]),
    }


def wrk(arguments: list[str], runs: int = 3) -> dict[str, Any]:
    """The median of ``runs`` wrk runs of 5 s (this machine's speed wanders from run to run)."""
    measured = sorted(
        (_wrk_once(arguments) for _ in range(runs)), key=lambda r: r["requests_per_s"]
    )
    return {**measured[runs // 2], "runs_requests_per_s": [r["requests_per_s"] for r in measured]}


def _wrk_once(arguments: list[str]) -> dict[str, Any]:
    command = ["wrk", "-t", "2", "-c", "32", "-d", "5s", "--latency", *arguments]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])),  # type: ignore[index]
        "p50_latency": re.search(r"^\s+50%\s+(\S+)", output, re.M)[1],  # type: ignore[index]
        "p99_latency": re.search(r"^\s+99%\s+(\S+)", output, re.M)[1],  # type: ignore[index]
        "non_2xx": int(errors[1]) if errors else 0,
    }


# -- LibreOffice alone, and Carbone -----------------------------------------------------------


# The floor makes what docrender makes: an untagged PDF (LibreOffice 25.2 tags a PDF exported
# without options; docrender/jobs/formats.py).
_UNTAGGED_PDF = 'pdf:writer_pdf_Export:{"UseTaggedPDF":{"type":"boolean","value":"false"}}'


def libreoffice_floor(
    documents: list[bytes], work: Path, runs: int = 3
) -> tuple[dict[str, Any], list[int]]:
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
            [
                "soffice",
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                _UNTAGGED_PDF,
                "--outdir",
                str(outdir),
                *map(str, files),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def timed(batch_files: list[list[Path]], outdir: Path) -> tuple[float, float]:
        """Wall seconds and CPU seconds (of the finished children) of one parallel run."""
        before, started = _children_cpu(), time.perf_counter()
        running = [
            soffice(p, files, outdir) for p, files in zip(profiles, batch_files, strict=True)
        ]
        for process in running:
            process.wait()
        return time.perf_counter() - started, _children_cpu() - before

    first = [[inputs / "000.docx"] for _ in profiles]
    timed(first, work / "warm")  # creates the profiles
    files = [[inputs / f"{i:03d}.docx" for i in batch] for batch in batches]
    measured = []
    for run in range(runs):
        startup, startup_cpu = timed(first, work / "startup")
        wall, cpu = timed(files, work / f"out-{run}")
        measured.append((wall - startup, wall, (cpu - startup_cpu) / len(documents)))
    after_startup, with_startup, cpu_per_document = sorted(measured)[runs // 2]  # the median run
    page_counts = [
        pages((work / "out-0" / f"{i:03d}.pdf").read_bytes()) for i in range(len(documents))
    ]
    return {
        "documents": len(documents),
        "processes": CORES,
        "runs": [round(m[0], 2) for m in measured],
        "wall_s": round(after_startup, 2),
        "wall_with_startup_s": round(with_startup, 2),
        "documents_per_s": round(len(documents) / after_startup, 2),
        "cpu_s_per_document": round(cpu_per_document, 3),
    }, page_counts


def carbone_batch(
    template: bytes, documents: list[dict[str, Any]], work: Path
) -> tuple[dict[str, Any], list[int]]:
    work.mkdir(parents=True)
    (work / "template.docx").write_bytes(template)
    (work / "data.json").write_text(json.dumps(documents, ensure_ascii=False))
    (work / "out").mkdir()
    env = {**os.environ, "PATH": CARBONE_PATH}
    node = subprocess.Popen(
        [
            "node",
            str(CARBONE_DIR / "render.js"),
            str(work / "template.docx"),
            str(work / "data.json"),
            str(work / "out"),
            str(CORES),
        ],
        stdout=subprocess.PIPE,
        env=env,
        cwd=CARBONE_DIR,
    )
    # The sampler spans Carbone's start-up too; its CPU and memory then include one warm-up
    # render per factory, which its own timer (wall_s) leaves out.
    with Sampler([node.pid]) as sampler:
        output, _ = node.communicate()
    if node.returncode != 0:
        raise RuntimeError(f"carbone exited with {node.returncode}")
    wall = json.loads(output)["wall_s"]
    page_counts = [pages(p.read_bytes()) for p in sorted((work / "out").glob("*.pdf"))]
    return batch_result(len(documents), wall, sampler), page_counts


def bench_carbone(work: Workloads, tmp: Path) -> tuple[dict[str, Any], list[int]]:
    reports, page_counts = carbone_batch(
        carbone_templates.report_template(),
        [carbone_templates.carbone_data(data) for data in work.reports],
        tmp / "carbone-reports",
    )
    sheets, _ = carbone_batch(
        carbone_templates.scoring_sheet_template(), work.sheets, tmp / "carbone-sheets"
    )
    return {
        "version": carbone_version(),
        "factories": CORES,
        "100_reports": reports,
        "500_one_page": sheets,
    }, page_counts


def carbone_version() -> str:
    package = CARBONE_DIR / "node_modules" / "carbone" / "package.json"
    return str(json.loads(package.read_text())["version"])


# -- results ---------------------------------------------------------------------------------


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, computed from whatever sections are present."""
    ours = result.get("docrender", {})
    floor, carbone = result.get("libreoffice_floor_100_reports"), result.get("carbone")
    out: dict[str, Any] = {}
    if ours and floor:
        out["docrender_wall_over_floor"] = round(ours["100_reports"]["wall_s"] / floor["wall_s"], 2)
    if ours and carbone:
        for workload in ("100_reports", "500_one_page"):
            out[f"docrender_over_carbone_throughput_{workload}"] = round(
                ours[workload]["documents_per_s"] / carbone[workload]["documents_per_s"], 2
            )
    if "latency" in result:
        out["latency_over_bare_conversion"] = result["latency"]["ratio"]
    if "endurance" in result:
        out["endurance_last_hundred_time_over_first"] = result["endurance"]["last_over_first_time"]
    if "batch_sizes" in result:
        sizes, fonts = result["batch_sizes"]["sizes"], result.get("own_fonts_cost")
        chosen = sizes.get(str(Settings().batch_size), {})
        out["weight_over_alone_default_batch_size"] = chosen.get("weight_over_alone")
        saved = sizes["1"]["libreoffice_cpu_ms_per_document"] - chosen.get(
            "libreoffice_cpu_ms_per_document", 0
        )
        if saved > 0 and fonts:
            out["own_fonts_cost_over_combining_saving"] = round(
                fonts["own_fonts_cpu_ms_per_document"] / saved, 2
            )
    if "api" in result:
        out["job_submissions_per_s"] = result["api"]["job_submissions"]["requests_per_s"]
        out["status_polls_per_s"] = result["api"]["status_polls_5_document_job"]["requests_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}"
    )
    parser.add_argument(
        "--out", default="bench.json", help="the results file, in bench/results (kept, updated)"
    )
    arguments = parser.parse_args()
    sections = set(arguments.only.split(","))
    out = RESULTS / arguments.out
    result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    result["machine"] = (
        f"{platform.machine()}, {CORES} cores, {psutil.virtual_memory().total // 2**30} GiB"
    )
    result["libreoffice"] = libreoffice_version(Settings.from_env().soffice_executable)
    page_counts: dict[str, list[int]] = result.setdefault("page_counts_100_reports", {})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def record(section: str, value: dict[str, Any], counts: list[int] | None = None) -> None:
        """Keep a section as soon as it is measured (a later failure loses nothing). Ratios
        across sections measured in different runs mean little: the run stamp tells them."""
        result[section] = {**value, "run": stamp}
        if counts is not None:
            page_counts[section] = counts
        result["same_page_counts"] = len({tuple(c) for c in page_counts.values()}) == 1
        result["ratios"] = ratios(result)
        RESULTS.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")

    work = Workloads.load()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if sections & {"docrender", "latency", "endurance"}:
            with docrender_stack(tmp / "stack") as stack:
                if "docrender" in sections:
                    record("docrender", *bench_docrender(stack, work))
                if "latency" in sections:
                    record("latency", bench_latency(stack, work))
                if "endurance" in sections:
                    record("endurance", bench_endurance(stack, work))
        if "api" in sections:
            with docrender_stack(tmp / "api", with_worker=False, api_processes=CORES) as stack:
                record("api", bench_api(stack, tmp))
        if "floor" in sections:
            # The packages docrender's workers convert: same documents, same pages.
            rendered = [as_converted(work.report_template, data) for data in work.reports]
            record("libreoffice_floor_100_reports", *libreoffice_floor(rendered, tmp / "floor"))
        if "carbone" in sections:
            record("carbone", *bench_carbone(work, tmp))
        if "storage" in sections:
            record("storage", bench_storage(work, tmp))
        if "batch" in sections:
            record("batch_sizes", bench_batch_sizes(work, tmp))
        if "fonts" in sections:
            record("own_fonts_cost", own_fonts_cost(work))
        if "tenants" in sections:
            record("hostile_tenant_beside_a_normal_one", bench_tenants(work, tmp))
        if "profile" in sections:
            with docrender_stack(tmp / "profile") as stack:
                profile_worker(stack, work, RESULTS / "worker-profile.txt")
    import chart  # matplotlib is slow to import; only when there is something to draw

    # Beside the results it draws: a run kept apart (--out) leaves bench.png as it was.
    chart.draw(result, out.with_suffix(".png"))
    print(
        json.dumps(
            {k: v for k, v in result.items() if k != "endurance"}, ensure_ascii=False, indent=2
        )
    )


if __name__ == "__main__":
    main()
