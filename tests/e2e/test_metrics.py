"""GET /metrics through the real stack: on only with its token, and its counters move as a
job runs (documents, jobs, render and conversion times, rejections, queue depth)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import uuid

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx

pytestmark = pytest.mark.usefixtures("worker")
TOKEN = {"Authorization": "Bearer scrape-me"}


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics", headers=TOKEN)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_need_their_token_and_move_as_a_job_runs(settings: Settings) -> None:
    assert create_app(settings).test_client().get("/metrics").status_code == 404  # off
    tenant_name = f"t{uuid.uuid4().hex[:8]}"
    on = dataclasses.replace(
        settings,
        metrics_token="scrape-me",
        max_request_bytes=100_000,
        api_keys={f"key-{tenant_name}": tenant_name},
    )
    client = create_app(on).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
    before = scrape(client)

    tenant = Tenant(client, f"key-{tenant_name}")
    template = tenant.upload(make_docx("{{ unit }} {{ 100 / n }}")).get_json()["id"]
    documents = [
        {"data": {"unit": u, "n": n}}
        for u, n in (("甲", 4), ("乙", 0), ("丙", 5), ("丁", 2), ("戊", 1))
    ]
    job = tenant.submit(template, documents, strict=False).get_json()
    assert tenant.wait_for(job["id"])["status"] == "partial"
    too_big = tenant.post("/v1/jobs", data=b" " * 200_000, content_type="application/json")
    assert too_big.status_code == 413
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("docrender_documents_total", status="succeeded") >= 2
    assert moved("docrender_documents_total", status="failed") >= 1
    assert moved("docrender_jobs_total", status="partial") >= 1
    assert moved("docrender_render_seconds_count") >= 3
    assert moved("docrender_conversion_seconds_count") >= 1
    # Documents of one task share a LibreOffice load (groups of 3 on 2 workers: 甲 丙, 丁 戊).
    assert moved("docrender_documents_converted_together_total") >= 2
    assert moved("docrender_rejections_total", reason="payload_too_large") == 1
    queues = {dict(labels)["queue"] for name, labels in after if name == "docrender_queue_depth"}
    assert queues == {"docrender.interactive", "docrender.bulk", "docrender.callbacks"}


def installed_libreoffice() -> str:
    """What the machine's soffice says it is, read here independently of the worker."""
    said = subprocess.run(
        ["soffice", "-env:UserInstallation=file:///tmp/docrender-test-version", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shutil.rmtree("/tmp/docrender-test-version", ignore_errors=True)
    return said.split()[1]  # "LibreOffice 25.2.3.2 520(Build:2)"


def test_readyz_and_metrics_say_which_libreoffice_converts(settings: Settings) -> None:
    client = create_app(dataclasses.replace(settings, metrics_token="scrape-me")).test_client()
    version = installed_libreoffice()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["libreoffice"] == [version]
    assert scrape(client)[("docrender_libreoffice_info", (("version", version),))] == 1
