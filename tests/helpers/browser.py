"""A clerk's browser page for the pages' browser tests (tests/web/): Debian's chromium through
Playwright, every request it makes recorded, a screenshot per step under
var/test-artifacts/web/. The stack and the browser are fixtures (tests/web/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize

from docrender.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "var" / "test-artifacts" / "web"
KEY = "clerk-key-0123456789"
# A second unit's key, so that one test's batches never show in another's lists.
OTHER_KEY = "other-unit-key-0123456789"


class Clerk:
    """A browser page, every request it makes recorded, a screenshot per step."""

    def __init__(
        self,
        browser: Browser,
        base: str,
        locale: str,
        tmp: Path,
        zone: str = "Asia/Shanghai",
        bypass_csp: bool = False,  # for a script the test injects (axe-core)
        viewport: ViewportSize | None = None,
    ) -> None:
        self.context = browser.new_context(
            locale=locale,
            timezone_id=zone,
            accept_downloads=True,
            extra_http_headers={"Accept-Language": locale},
            bypass_csp=bypass_csp,
            viewport=viewport or {"width": 1280, "height": 720},  # Playwright's default
        )
        self.page: Page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.base, self.tmp = base, tmp
        self.downloaded = ""  # the name the last download came with

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def download(self, name: str, within: str | None = None) -> bytes:
        """The file behind link ``name`` (in the table row named ``within``)."""
        scope = self.page.get_by_role("row", name=within) if within else self.page
        with self.page.expect_download() as waiting:
            scope.get_by_role("link", name=name).click()
        self.downloaded = waiting.value.suggested_filename
        path = self.tmp / self.downloaded
        waiting.value.save_as(path)
        return path.read_bytes()

    def sign_in(self, key: str = KEY) -> None:
        self.go("/web/")
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
