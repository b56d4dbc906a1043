"""The pages in a real browser: `make run`'s stack and Debian's chromium (Playwright), started
once for every browser test (tests/helpers/browser.py drives a clerk's page)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest
from playwright.sync_api import Browser, sync_playwright

from docrender.processes import free_port
from tests.helpers.browser import CHROMIUM, KEY, OTHER_KEY
from tests.helpers.processes import wait_ready


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`'s stack, as `make run` starts it, with a key the test knows."""
    data_dir = tmp_path_factory.mktemp("web-stack")
    bind = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCRENDER_", "PROMETHEUS_"))}
    env.update(
        DOCRENDER_DATA_DIR=str(data_dir),
        DOCRENDER_BIND=bind,
        DOCRENDER_WORKERS="1",
        DOCRENDER_API_KEYS=f"county:{KEY},town:{OTHER_KEY}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.stack"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    descendants: list[psutil.Process] = []
    try:
        wait_ready(f"http://{bind}", process)
        yield f"http://{bind}"
        # Including the template inspectors the pages' uploads started in gunicorn's workers.
        descendants = psutil.Process(process.pid).children(recursive=True)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"processes of the stack still run: {alive}"


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: make bootstrap installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()
