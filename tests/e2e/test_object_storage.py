"""The S3 backend through the whole stack: the API and a worker of their own keep every file
in an object store (moto's standalone S3 server, a real S3 wire protocol), nothing on disk."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from pypdf import PdfReader

from api import create_app
from cli.processes import start_worker
from docrender.monitoring.heartbeats import ConverterHeartbeats
from docrender.processes import free_port
from docrender.settings import Settings
from tests.helpers.clients import Tenant
from tests.helpers.documents import make_docx
from tests.helpers.pdf import pdf_text
from tests.helpers.processes import ObjectStore

pytestmark = [pytest.mark.redis, pytest.mark.libreoffice]


@pytest.fixture(scope="module")
def s3_settings(
    base_env: dict[str, str],
    object_store: ObjectStore,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Settings]:
    """A worker that stores in a bucket of its own, on a Redis database of its own (so the
    session's worker, which stores on disk, never takes its tasks)."""
    data_dir = tmp_path_factory.mktemp("s3-stack")
    env = (
        base_env
        | object_store.env
        | {
            "DOCRENDER_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
            "DOCRENDER_DATA_DIR": str(data_dir),
            "DOCRENDER_WORKERS": "1",
            "DOCRENDER_STORAGE": "s3",
            "DOCRENDER_S3_BUCKET": object_store.new_bucket(),
            "DOCRENDER_S3_ENDPOINT_URL": object_store.endpoint,
            "DOCRENDER_S3_PREFIX": "docrender",
            # As a worker host without an API: its processes' metrics served by the worker.
            "DOCRENDER_METRICS_BIND": f"127.0.0.1:{free_port()}",
            "DOCRENDER_METRICS_TOKEN": "worker-scrape",
            "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "metrics"),
        }
    )
    (data_dir / "metrics").mkdir()
    settings = Settings.from_env(env)
    worker = start_worker(env, data_dir / "logs" / "worker.log")
    heartbeats = ConverterHeartbeats(
        redis.Redis.from_url(env["DOCRENDER_REDIS_URL"], decode_responses=True)
    )
    try:
        worker.wait_until(lambda: heartbeats.recent(60), 180, "the S3 worker did not start")
        yield settings
    finally:
        worker.stop(grace_seconds=60)


def test_a_job_lives_in_the_object_store_from_upload_to_purge(
    s3_settings: Settings, object_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in object_store.env.items():
        monkeypatch.setenv(name, value)
    app = create_app(s3_settings)
    tenant = Tenant(app.test_client(), "key1")
    template = tenant.upload(make_docx("{{ unit }}", "對象存儲 object storage")).get_json()["id"]
    units = ["沙灣縣第二中學", "阜康市第二中学", "West Gobi"]
    job = tenant.submit(
        template, [{"data": {"unit": u}} for u in units], name="{{ unit }}-報告"
    ).get_json()
    assert tenant.wait_for(job["id"])["status"] == "succeeded"

    document = tenant.get(f"/v1/jobs/{job['id']}/documents/0")  # streamed from the store
    assert document.status_code == 200 and "沙灣縣第二中學" in pdf_text(document.data)
    names = zipfile.ZipFile(io.BytesIO(tenant.archive(job["id"]).data)).namelist()
    assert names == [f"{u}-報告.pdf" for u in units]
    assert len(PdfReader(io.BytesIO(tenant.merged(job["id"]).data)).pages) == 3

    bucket = s3_settings.s3_bucket
    listed = object_store.client().list_objects_v2(Bucket=bucket, Prefix="docrender/")["Contents"]
    keys = {item["Key"]: item["Size"] for item in listed}
    job_keys = {k for k in keys if k.startswith(f"docrender/jobs/{job['id']}/")}
    prefix = f"docrender/jobs/{job['id']}/"
    kept = {k.removeprefix(prefix) for k in job_keys if k.startswith(f"{prefix}conversions/")}
    assert len(kept) == 1  # documents 0 and 1 converted together, kept for the volume
    assert {k.removeprefix(prefix) for k in job_keys} - kept == {
        "template.docx",
        "0.pdf",
        "1.pdf",
        "2.pdf",
        "archive.zip",
        "merged.pdf",
    }
    assert f"docrender/templates/tenant1/{template}.docx" in keys
    assert not list((s3_settings.data_dir / "files").rglob("*.pdf"))  # nothing on disk
    services = app.extensions["docrender"]
    # What the tenant keeps: its files, and its job's data (which Redis keeps).
    data = len(json.dumps([{"unit": u} for u in units], ensure_ascii=False).encode())
    assert services.usage.used("tenant1") == sum(keys.values()) + data

    presigning = Tenant(
        create_app(dataclasses.replace(s3_settings, s3_presign=True)).test_client(), "key1"
    )
    redirected = presigning.get(f"/v1/jobs/{job['id']}/documents/1")
    assert redirected.status_code == 302
    assert redirected.headers["Location"].startswith(object_store.endpoint)
    fetched = httpx.get(redirected.headers["Location"])
    assert "阜康市第二中学" in pdf_text(fetched.content)
    assert "filename*=UTF-8''" in fetched.headers["Content-Disposition"]

    # Retention: the purge the workers run removes the job's objects and gives its bytes back.
    assert services.storage.delete_jobs_older_than(-60) == [job["id"]]
    left = object_store.client().list_objects_v2(Bucket=bucket, Prefix="docrender/jobs/")
    assert "Contents" not in left
    assert services.usage.used("tenant1") == keys[f"docrender/templates/tenant1/{template}.docx"]
    assert Path(s3_settings.data_dir).exists()


def test_a_worker_given_a_missing_bucket_stops_naming_the_variable(
    base_env: dict[str, str], object_store: ObjectStore, tmp_path: Path
) -> None:
    env = (
        base_env
        | object_store.env
        | {
            "DOCRENDER_DATA_DIR": str(tmp_path),
            "DOCRENDER_STORAGE": "s3",
            "DOCRENDER_S3_BUCKET": "no-such-bucket",
            "DOCRENDER_S3_ENDPOINT_URL": object_store.endpoint,
        }
    )
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        assert worker.process.wait(timeout=60) != 0
    finally:
        worker.stop(grace_seconds=5)
    said = (tmp_path / "worker.log").read_text()
    assert "DOCRENDER_S3_BUCKET='no-such-bucket' does not exist" in said


def test_a_worker_host_serves_its_own_metrics(
    s3_settings: Settings, object_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in object_store.env.items():
        monkeypatch.setenv(name, value)
    tenant = Tenant(create_app(s3_settings).test_client(), "key1")
    template = tenant.upload(make_docx("{{ unit }}")).get_json()["id"]
    job = tenant.submit(template, [{"data": {"unit": "度量"}}]).get_json()
    assert tenant.wait_for(job["id"])["status"] == "succeeded"
    url = f"http://{s3_settings.metrics_bind}/metrics"
    assert httpx.get(url).status_code == 401
    page = httpx.get(url, headers={"Authorization": "Bearer worker-scrape"})
    assert page.status_code == 200
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(page.text)
        for sample in family.samples
        if not sample.labels or "status" in sample.labels
    }
    assert samples["docrender_conversion_seconds_count"] >= 1
    assert samples["docrender_render_seconds_count"] >= 1
