"""The `docrender` command against the real stack (the API app in-process over WSGI, the
real worker and LibreOffice behind it)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from cli.main import main
from docrender.settings import PROJECT_ROOT
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx

pytestmark = pytest.mark.usefixtures("worker")
SAMPLES = PROJECT_ROOT / "templates"


def run_cli(tenant: Tenant, *args: str) -> int:
    transport = httpx.WSGITransport(app=tenant.client.application)
    return main(
        [*args, "--server", "http://docrender.test", "--key", tenant.key], transport=transport
    )


def test_submit_downloads_every_file_the_zip_and_the_merged_volume(
    tenant: Tenant, tmp_path: Path
) -> None:
    out = tmp_path / "輸出 報告"  # Chinese and a space in the path
    status = run_cli(
        tenant,
        "submit",
        str(SAMPLES / "unit-summary.docx"),
        str(SAMPLES / "units.xlsx"),
        "--out",
        str(out),
        "--name",
        "{{ unit }}-基本情況表",
        "--zip",
        "--merged",
    )
    assert status == 0
    pdfs = sorted(p.name for p in out.glob("*-基本情況表.pdf"))
    assert len(pdfs) == 5 and "沙灣縣第五小學-基本情況表.pdf" in pdfs
    assert len(zipfile.ZipFile(out / "units.zip").namelist()) == 5
    merged = PdfReader(out / "units-merged.pdf")
    units = [
        "西戈壁鎮中心校",
        "沙灣縣第五小學",
        "阜康市第二中學",
        "阜康市衛生局",
        "昌吉州安全生產監督管理局",
    ]
    titles = [i.title for i in merged.outline if not isinstance(i, list)]
    assert titles == [f"{unit}-基本情況表" for unit in units]  # the spreadsheet's row order


def test_failed_documents_are_reported_and_the_exit_status_says_so(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "units.csv"
    data.write_text("unit,signature,date,honours.1,facts\n甲,甲,2012,,\n乙,乙,2012,,5\n")
    status = run_cli(
        tenant,
        "submit",
        str(SAMPLES / "unit-summary.docx"),
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--no-strict",
    )
    assert status == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == [
        "甲.pdf"
    ]  # named by its first text column
    assert "not iterable" in capsys.readouterr().err


def test_a_refused_job_prints_every_problem(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "units.csv"
    data.write_text("unit\n甲\n")
    status = run_cli(
        tenant, "submit", str(SAMPLES / "unit-summary.docx"), str(data), "--out", str(tmp_path)
    )
    assert status == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "missing_variables" in err and "row 2 (甲) misses date, facts, honours, signature" in err
    assert "pass --no-strict" in err  # the command's own flag, not the API's JSON field


def test_inspect_and_validate_work_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(SAMPLES / "report.docx")]) == 0
    assert "sections[].points[].paragraphs" in capsys.readouterr().out
    assert main(["inspect", str(SAMPLES / "gongwen.docx")]) == 0
    fonts = capsys.readouterr().out.split("fonts (requested -> rendered with):")[1]
    assert "仿宋_GB2312 -> cwTeXFangSong (substitute)" in fonts
    assert "楷体_GB2312 -> AR PL UKai TW (substitute)" in fonts
    summary, units = str(SAMPLES / "unit-summary.docx"), str(SAMPLES / "units-gbk.csv")
    assert main(["validate", summary, units, "--offline"]) == 0
    bad = tmp_path / "壞.csv"
    bad.write_text("unit,facts\n沙灣,x\n")
    assert main(["validate", summary, str(bad), "--offline"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "row 2 (沙灣)" in err and "has text for facts, where a list is needed" in err


def test_validate_gives_the_renders_verdict_row_by_row(
    tenant: Tenant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "填報表.docx"
    template.write_bytes(make_docx("{{ unit }}", '{{ day|date("%Y年%-m月%-d日") }}'))
    data = tmp_path / "填報.csv"
    data.write_text("unit,day\n甲校,2012/5/1\n乙校,2012年5月\n", encoding="utf-8")
    assert run_cli(tenant, "validate", str(template), str(data)) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "row 3 (乙校): “day”: “2012年5月” is not a date" in said
    assert "in the template: {{ day|date" in said and "row 2" not in said
    data.write_text("unit,day\n甲校,2012/5/1\n乙校,2012年5月1日\n", encoding="utf-8")
    assert run_cli(tenant, "validate", str(template), str(data)) == 0
    assert "all 2 documents of 填報.csv would print" in capsys.readouterr().out
    assert tenant.get("/v1/jobs").get_json()["jobs"] == []  # nothing was made


def test_installed_as_a_console_script() -> None:
    script = Path(sys.executable).parent / "docrender"
    result = subprocess.run([str(script), "submit", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--merged" in result.stdout


def test_submit_as_pdfa_with_a_language(tenant: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "pdfa"
    status = run_cli(
        tenant,
        "submit",
        str(SAMPLES / "gongwen.docx"),
        str(SAMPLES / "gongwen.json"),
        "--out",
        str(out),
        "--format",
        "pdfa",
        "--language",
        "zh-Hant",
    )
    assert status == 0
    [pdf] = out.glob("*.pdf")  # a .pdf file name, though the format is pdfa
    metadata = PdfReader(pdf).xmp_metadata
    assert metadata is not None and "pdfaid" in metadata.rdf_root.toxml()


def test_inspect_names_an_unknown_filter_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "typo.docx"
    template.write_bytes(make_docx("單位：{{ unit }}", "備註：{{ note|defualt('—') }}"))
    assert main(["inspect", str(template)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Unknown filter 'defualt'" in err and "did you mean 'default'?" in err
    assert "Traceback" not in err
