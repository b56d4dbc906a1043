"""Every page of the clerks' pages, in each of its three languages, checked by axe-core (the
npm package make bootstrap installs; its script injected by the test, nothing fetched): no
serious or critical violation. The pages are seen as a clerk meets them: signed out, with a
template uploaded, a batch checked with a row that does not fit, a finished batch with a
failure to fix, the lists, a delete to confirm and a page that is not there."""

from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest
from playwright.sync_api import Browser, Page, expect

from docrender.settings import PROJECT_ROOT
from tests.helpers.browser import OTHER_KEY, Clerk

pytestmark = [pytest.mark.redis, pytest.mark.libreoffice]

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
LANGUAGES = ("en", "zh-Hans", "zh-Hant")


def violations(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def upload(clerk: Clerk, name: str, *paragraphs: str) -> None:
    """Upload a template of these paragraphs through the Templates page (the file input is
    the page's first)."""
    template = clerk.tmp / f"{name}.docx"
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(template))
    clerk.go("/web/templates")
    clerk.page.locator("#template").set_input_files(template)
    clerk.page.locator("form[enctype] button[type=submit]").click()
    expect(clerk.page.get_by_role("row", name=name)).to_be_visible()


def described(found: list[dict]) -> str:
    return json.dumps(
        [
            {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]}
            for v in found
        ],
        ensure_ascii=False,
        indent=1,
    )


def test_every_page_in_every_language_has_no_serious_accessibility_violation(
    browser: Browser, stack: str, tmp_path: Path
) -> None:
    assert AXE.exists(), "axe-core is missing: make bootstrap installs it (npm ci)"
    # The pages' policy allows no inline script; the test's own injection is let through.
    clerk = Clerk(browser, stack, "en-US", tmp_path, bypass_csp=True)
    page = clerk.page
    failures: dict[str, list[dict]] = {}
    for language in LANGUAGES:  # signed out: the sign-in page
        clerk.go(f"/web/sign-in?lang={language}")
        if found := violations(page):
            failures[f"sign-in ({language})"] = found
    pages: dict[str, str] = {}
    clerk.go("/web/sign-in?lang=en")
    clerk.sign_in(OTHER_KEY)
    expect(page.get_by_role("link", name="Jobs", exact=True)).to_be_visible()

    upload(clerk, "填報表", "{{ unit }}", '填報日期：{{ day|date("%Y年%-m月%-d日") }}')
    pages["templates"] = "/web/templates"
    page.get_by_role("link", name="Delete 填報表").click()
    pages["delete"] = page.url.removeprefix(stack)

    sheet = tmp_path / "units.csv"
    sheet.write_text("unit,day\n甲校,2012/5/1\n乙校,2012年5月\n", encoding="utf-8")
    clerk.go("/web/batch")
    pages["batch"] = "/web/batch"
    page.get_by_label("Report template").select_option(label="填報表")
    page.get_by_label("Data").set_input_files(sheet)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("row", name="乙校")).to_contain_text("is not a date")
    page.get_by_role("button", name="Render").click()
    expect(page.get_by_role("button", name="Make the corrected rows")).to_be_visible(
        timeout=180_000
    )
    pages["job"] = page.url.removeprefix(stack)
    pages["jobs"] = "/web/jobs"
    pages["not-found"] = "/web/jobs/no-such-job"

    for language in LANGUAGES:
        for name, path in pages.items():
            clerk.go(f"{path}?lang={language}")
            page.wait_for_load_state("load")
            if found := violations(page):
                failures[f"{name} ({language})"] = found
        # The checked batch, as the answer to Check shows it (a POST: made again per language).
        clerk.go(f"/web/batch?lang={language}")
        page.locator("#template-choice").select_option(label="填報表")
        page.locator("#data").set_input_files(sheet)
        page.locator("button[value=check]").click()
        expect(page.locator("tr.bad")).to_have_count(1)
        if found := violations(page):
            failures[f"batch checked ({language})"] = found
        clerk.shot(f"13-checked-{language}")
    assert not failures, "\n".join(f"{page}: {described(v)}" for page, v in failures.items())


def test_the_pages_read_well_at_a_phones_width(
    browser: Browser, stack: str, tmp_path: Path
) -> None:
    """At 390 px nothing runs off the side, a table is one card a row (each value under its
    column's name), and no link or button label wraps inside itself."""
    clerk = Clerk(browser, stack, "zh-TW", tmp_path, viewport={"width": 390, "height": 844})
    page = clerk.page
    clerk.go("/web/sign-in?lang=zh-Hant")
    page.get_by_label("API 金鑰").fill(OTHER_KEY)
    page.get_by_role("button", name="登入").click()
    expect(page.get_by_role("link", name="任務", exact=True)).to_be_visible()
    upload(clerk, "手機表", "{{ unit }} {{ head }}")
    for path in ("/web/templates", "/web/jobs", "/web/batch", "/web/sign-in"):
        clerk.go(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
        wrapped = page.evaluate(
            """() => [...document.querySelectorAll('main a, main button')]
                .filter((e) => e.offsetParent && e.getClientRects().length > 1
                        || e.tagName === 'BUTTON' && e.offsetHeight > 2.2 * parseFloat(
                            getComputedStyle(e).lineHeight))
                .map((e) => e.textContent.trim())"""
        )
        assert not wrapped, f"{path}: labels wrap: {wrapped}"
    clerk.go("/web/templates")
    row = page.get_by_role("row", name="手機表")
    # A card: the values under their column's name, one above the other.
    cells = row.get_by_role("cell")
    first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    assert first and second and second["y"] > first["y"]
    clerk.shot("14-templates-on-a-phone")
