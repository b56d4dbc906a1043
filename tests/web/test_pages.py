"""The clerks' pages in a real browser (Debian's chromium driven by Playwright), against
`make run`'s own stack (gunicorn, workers, LibreOffice, Redis), as a clerk uses them: sign in,
upload a template, download its fill-in sheet and fill it, check it (one bad row), preview,
render, watch the progress, download the ZIP and the merged PDF, retry, the jobs list, in
Chinese and English. Every step's screenshot is saved under var/test-artifacts/web/."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import docx
import openpyxl
import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader

from tests.helpers.browser import KEY, Clerk
from tests.helpers.pdf import pdf_text, squash

pytestmark = [pytest.mark.redis, pytest.mark.libreoffice]


def spending_template() -> bytes:
    """A template as a bureau writes it: the unit, its students, and spending per student
    (which divides, so a unit with no students fails its own document)."""
    document = docx.Document()
    document.add_heading("{{ unit }}", 1)
    document.add_paragraph("學生人數：{{ students }}")
    document.add_paragraph("生均經費：{{ (budget / students)|round(1) }} 元")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_clerk_makes_a_batch_from_a_spreadsheet(
    browser: Browser, stack: str, tmp_path: Path
) -> None:
    clerk = Clerk(browser, stack, "en-US", tmp_path)
    page = clerk.page

    clerk.sign_in("not-a-key")
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    clerk.shot("01-wrong-key")
    clerk.sign_in()
    expect(page.get_by_role("link", name="Jobs", exact=True)).to_be_visible()

    page.get_by_role("link", name="Templates", exact=True).click()
    template_file = tmp_path / "經費表.docx"
    template_file.write_bytes(spending_template())
    page.get_by_label("Template", exact=True).set_input_files(template_file)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("row", name="經費表")).to_contain_text("budget")
    clerk.shot("02-template-uploaded")

    sheet = openpyxl.load_workbook(
        io.BytesIO(clerk.download("Download fill-in sheet", within="經費表"))
    )
    headers = [cell.value for cell in sheet.active[1]]
    # In the template's words where it gives them ("學生人數：{{ students }}").
    assert headers == ["unit", "學生人數（students）", "budget"]
    assert sheet.active.max_row == 1  # no example row to send by mistake
    rows = [
        ["沙灣縣第二中學", 820, 1_640_000],
        ["阜康市第二中学", 610, 915_000],
        ["西戈壁鎮中心校", 0, 80_000],
        ["奎屯市第一小學", 450, None],
    ]
    for row in rows:
        sheet.active.append(row)
    filled = tmp_path / "units.xlsx"
    sheet.save(filled)

    page.get_by_role("link", name="New batch", exact=True).click()
    page.get_by_label("Report template").select_option(label="經費表")
    page.get_by_label("Data").set_input_files(filled)
    page.get_by_label("Name pattern").fill("{{ unit }}-經費")
    page.get_by_role("button", name="Check").click()
    # The batch's title, until she gives one: the template's name and the data file's.
    expect(page.get_by_label("Batch title")).to_have_value("經費表 · units")
    bad = page.get_by_role("row", name="奎屯市第一小學-經費")
    expect(bad).to_contain_text("5")  # the sheet's row number
    expect(bad).to_contain_text("“budget” has no value; fill it in.")
    # Check fills every row as the render will: no students is a division by zero, found now.
    expect(page.get_by_role("row", name="西戈壁鎮中心校-經費")).to_contain_text("division by zero")
    expect(page.get_by_role("status").first).to_contain_text("2 of 4 rows have problems")
    clerk.shot("03-checked-one-bad-row")

    rows[3][2] = 700_000  # the clerk fills the missing cell and checks again
    sheet.active.cell(5, 3).value = 700_000
    sheet.save(filled)
    page.get_by_label("Data").set_input_files(filled)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("img", name="First page")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("status").first).to_contain_text("1 of 4 rows have problems")
    clerk.shot("04-preview")

    page.get_by_role("button", name="Render").click()
    expect(page.get_by_role("link", name="Download all (ZIP)")).to_be_visible(timeout=180_000)
    expect(page.locator("#count")).to_contain_text("4 of 4 documents")
    expect(page.locator("#failures")).to_contain_text("西戈壁鎮中心校-經費")  # 0 students
    # Finished: nothing left to cancel; its failure comes from its data (no students), so the
    # page offers to correct its row, not to retry it.
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    expect(page.get_by_role("button", name="Make the corrected rows")).to_be_visible()
    expect(page.get_by_role("button", name="Retry failed")).to_be_hidden()
    clerk.shot("05-finished")

    archive = zipfile.ZipFile(io.BytesIO(clerk.download("Download all (ZIP)")))
    assert clerk.downloaded == "經費表 · units.zip"  # named after the batch
    assert sorted(archive.namelist()) == sorted(
        ["沙灣縣第二中學-經費.pdf", "阜康市第二中学-經費.pdf", "奎屯市第一小學-經費.pdf"]
    )
    assert "2000.0" in pdf_text(archive.read("沙灣縣第二中學-經費.pdf"))
    merged = PdfReader(io.BytesIO(clerk.download("Download merged PDF")))
    assert clerk.downloaded == "經費表 · units.pdf"
    assert len(merged.pages) == 3
    assert [item.title for item in merged.outline if not isinstance(item, list)] == [
        "沙灣縣第二中學-經費",
        "阜康市第二中学-經費",
        "奎屯市第一小學-經費",
    ]

    job_url = page.url
    job_id = job_url.rstrip("/").rsplit("/", 1)[1]
    again = page.request.get(f"{stack}/v1/jobs/{job_id}").json()
    expect(page.locator("#failures")).to_contain_text("division by zero")

    page.get_by_role("link", name="Jobs", exact=True).click()
    # Her batch, by its title and template, made at her own time (Shanghai's, said so); the
    # preview she made before it is not one of her batches.
    expect(page.get_by_role("row")).to_have_count(2)
    batch = page.get_by_role("row", name="經費表 · units")
    expect(batch).to_contain_text("partly failed")
    expect(batch).to_contain_text("3 / 4")
    expect(batch.get_by_role("cell").first).to_have_text("經費表")
    created = datetime.fromisoformat(again["created_at"]).astimezone(timezone(timedelta(hours=8)))
    expect(batch.locator("time")).to_contain_text(created.strftime("%H:%M"))
    expect(batch.locator("time")).to_contain_text("GMT+8")
    clerk.shot("06-jobs")
    batch.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("經費表 · units")
    page.go_back()

    # Another page's form cannot act for the clerk: no token, no cancel.
    forged = page.request.post(f"{stack}/web/jobs/{job_id}/cancel", form={})
    assert forged.status == 400

    page.get_by_role("link", name="简体中文").click()
    expect(page.get_by_role("link", name="任务", exact=True)).to_be_visible()
    page.get_by_role("link", name="模板", exact=True).click()
    expect(page.get_by_role("link", name="下载填写表").first).to_be_visible()
    page.get_by_role("link", name="繁體中文").click()
    expect(page.get_by_role("link", name="下載填寫表").first).to_be_visible()
    clerk.shot("07-templates-traditional")
    # Delete asks first, on a page of its own; keeping it changes nothing.
    page.get_by_role("link", name="刪除 經費表").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("刪除範本「經費表」？")
    clerk.shot("07b-delete-asks-first")
    page.get_by_role("link", name="保留").click()
    expect(page.get_by_role("row", name="經費表")).to_be_visible()

    page.get_by_role("button", name="登出").click()
    expect(page.get_by_label("API 金鑰")).to_be_visible()
    page.goto(job_url)  # signed out: the job's page is not shown
    expect(page.get_by_label("API 金鑰")).to_be_visible()

    hosts = {urlparse(url).hostname for url in clerk.requests if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts


def test_check_tells_the_truth_and_a_row_fixed_after_its_failure_joins_its_batch(
    browser: Browser, stack: str, tmp_path: Path
) -> None:
    """A clerk's batch in zh-Hant: a date typed as 2012年5月 is caught by Check (which fills
    every row as the render does), with its row, its column and what to type, the tag on a
    line of its own for the template's author. Made anyway, that row fails for its data; she
    sends the corrected row alone, and it is made again in the same batch: the merged PDF
    holds every unit."""
    clerk = Clerk(browser, stack, "zh-TW", tmp_path)
    page = clerk.page
    clerk.go("/web/")
    page.get_by_label("API 金鑰").fill(KEY)
    page.get_by_role("button", name="登入").click()
    page.get_by_role("link", name="範本", exact=True).click()
    template = tmp_path / "填報表.docx"
    document = docx.Document()
    document.add_paragraph("{{ unit }}")
    document.add_paragraph('填報日期：{{ day|date("%Y年%-m月%-d日") }}')
    document.save(str(template))
    page.get_by_label("範本", exact=True).set_input_files(template)
    page.get_by_role("button", name="上傳").click()
    expect(page.get_by_role("row", name="填報表")).to_be_visible()

    # Her fill-in sheet: headers in the template's words, the date column typed.
    sheet = openpyxl.load_workbook(io.BytesIO(clerk.download("下載填寫表", within="填報表")))
    assert [cell.value for cell in sheet.active[1]] == ["unit", "填報日期（day）"]
    assert sheet.sheetnames == ["data", "填寫說明"]
    rows: list[list[object]] = [
        ["沙灣縣第二中學", datetime(2012, 5, 1)],  # a date cell
        ["阜康市第二中學", "2012/5/1"],  # a date typed as text: fine too
        ["奎屯市第一小學", "2012年5月"],  # no day: not a date
    ]
    for row, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            sheet.active.cell(row, column).value = value
    filled = tmp_path / "填報.xlsx"
    sheet.save(filled)
    page.get_by_role("link", name="新批次", exact=True).click()
    page.get_by_label("報告範本").select_option(label="填報表")
    page.get_by_label("資料", exact=True).set_input_files(filled)
    page.get_by_role("button", name="檢查").click()
    bad = page.get_by_role("row", name="奎屯市第一小學")
    expect(bad).to_contain_text("4")  # its sheet row
    expect(bad).to_contain_text(
        "「填報日期（day）」：「2012年5月」不是日期，請填寫如 2012/5/1 或 2012年5月1日 的日期。"
    )
    expect(bad.locator("small")).to_contain_text("day|date")  # for the template's author
    expect(page.get_by_role("row", name="阜康市第二中學")).to_contain_text("符合")
    clerk.shot("03c-check-names-the-cell")

    # She makes the batch anyway: the rows that fit print; the bad one fails for its data.
    page.get_by_role("button", name="產生").click()
    fix = page.get_by_role("button", name="產生改正的列")
    expect(fix).to_be_visible(timeout=180_000)
    expect(page.locator("#failures")).to_contain_text("「day」：「2012年5月」不是日期")
    expect(page.locator("#count")).to_contain_text("3")
    clerk.shot("11-failed-for-its-data")

    # She corrects only that row, in a sheet of its own, and sends it to the same batch.
    only = openpyxl.Workbook()
    only.active.append(["unit", "day"])
    only.active.append(["奎屯市第一小學", "2012年5月1日"])
    corrected = tmp_path / "改正.xlsx"
    only.save(corrected)
    page.get_by_label("改正後的資料").set_input_files(corrected)
    fix.click()
    expect(page.locator(".notice")).to_contain_text("1 列改正的資料正在本批次中重新產生。")
    expect(page.get_by_role("link", name="下載合併 PDF")).to_be_visible(timeout=180_000)
    expect(page.locator("#failures-heading")).to_be_hidden()
    expect(fix).to_be_hidden()
    clerk.shot("12-fixed-row-joined-its-batch")
    merged = PdfReader(io.BytesIO(clerk.download("下載合併 PDF")))
    assert [item.title for item in merged.outline if not isinstance(item, list)] == [
        "沙灣縣第二中學",
        "阜康市第二中學",
        "奎屯市第一小學",
    ]  # every unit, in the sheet's order
    assert "填報日期：2012年5月1日" in squash(merged.pages[2].extract_text())


def test_the_page_speaks_the_browsers_language_and_the_docs_need_no_internet(
    browser: Browser, stack: str, tmp_path: Path
) -> None:
    clerk = Clerk(browser, stack, "zh-TW", tmp_path)
    clerk.go("/web/")
    expect(clerk.page.get_by_role("button", name="登入")).to_be_visible()
    clerk.shot("08-sign-in-traditional")
    # With the keyboard alone: Tab to the key's field, type it, Enter.
    for _ in range(10):
        clerk.page.keyboard.press("Tab")
        if clerk.page.evaluate("document.activeElement.id") == "api_key":
            break
    clerk.page.keyboard.type(KEY)
    clerk.page.keyboard.press("Enter")
    expect(clerk.page.get_by_role("link", name="任務", exact=True)).to_be_visible()
    clerk.go("/docs")
    title = clerk.page.get_by_role("heading", name="docrender")
    expect(title).to_contain_text("OAS 3.1", timeout=30_000)  # Swagger UI read the document
    expect(clerk.page.get_by_text("/v1/jobs").first).to_be_visible()
    clerk.shot("09-api-docs")
    hosts = {urlparse(url).hostname for url in clerk.requests if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts


def test_another_page_cannot_frame_the_pages(browser: Browser, stack: str, tmp_path: Path) -> None:
    """A same-site page framed /web/templates invisibly, and one click on its decoy deleted a
    template. The pages now say frame-ancestors 'none': the browser shows nothing of them in
    another page's frame."""
    decoy = (
        f'<p>Win a prize!</p><iframe src="{stack}/web/templates" width="800" height="400"></iframe>'
    ).encode()

    class Decoy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(decoy)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Decoy)  # same site, other origin
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clerk = Clerk(browser, stack, "en-US", tmp_path)
        clerk.sign_in()
        expect(clerk.page.get_by_role("link", name="Jobs", exact=True)).to_be_visible()
        clerk.page.goto(f"http://127.0.0.1:{server.server_port}/decoy")
        clerk.page.wait_for_load_state("load")
        clerk.shot("10-framed-by-another-page")
        (frame,) = [frame for frame in clerk.page.frames if frame is not clerk.page.main_frame]
        assert frame.get_by_role("button", name="Upload").count() == 0
    finally:
        server.shutdown()
        server.server_close()
