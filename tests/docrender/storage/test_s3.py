"""The object-storage backend against a real S3 wire protocol (moto's standalone server)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import pytest

from docrender.settings import Settings, SettingsError
from docrender.storage import job_document_key, job_template_key
from docrender.storage.s3 import S3Storage
from tests.helpers.processes import ObjectStore


def storage(
    store: ObjectStore, settings: Settings, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> S3Storage:
    for name, value in store.env.items():
        monkeypatch.setenv(name, value)
    chosen = dataclasses.replace(
        settings,
        storage="s3",
        s3_bucket=store.new_bucket(),
        s3_endpoint_url=store.endpoint,
        **overrides,
    )
    return S3Storage.from_settings(chosen)


def test_files_go_in_and_come_out_under_the_prefix(
    object_store: ObjectStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = storage(object_store, settings, monkeypatch, s3_prefix="county-7/")
    key = job_document_key("job1", 0, "pdf")
    s3.put(key, b"first")
    s3.put(key, b"second")  # a re-delivered task overwrites its own output
    assert s3.read(key) == b"second" and s3.exists(key)
    with s3.open(key) as stream:
        assert stream.read() == b"second"
    listed = object_store.client().list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["county-7/jobs/job1/0.pdf"]
    s3.delete(key)
    assert not s3.exists(key)
    with pytest.raises(FileNotFoundError):
        s3.read(key)


def test_the_purge_removes_whole_expired_jobs(
    object_store: ObjectStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = storage(object_store, settings, monkeypatch)
    for job in ("a", "b"):
        s3.put(job_template_key(job), b"t")
        s3.put(job_document_key(job, 0, "pdf"), b"p")
    assert s3.delete_jobs_older_than(3600) == []  # written just now
    assert sorted(s3.delete_jobs_older_than(-60)) == ["a", "b"]  # "older than a minute ahead"
    assert "Contents" not in object_store.client().list_objects_v2(Bucket=s3.bucket)


def test_presigned_downloads_carry_the_name(
    object_store: ObjectStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = storage(object_store, settings, monkeypatch, s3_presign=True)
    s3.put("jobs/j/0.pdf", b"%PDF-1.7 x")
    disposition = "attachment; filename=\"document-0.pdf\"; filename*=UTF-8''%E7%94%B2.pdf"
    url = s3.download_url("jobs/j/0.pdf", disposition)
    assert url is not None and url.startswith(object_store.endpoint)
    fetched = httpx.get(url)
    assert fetched.content == b"%PDF-1.7 x"
    assert fetched.headers["Content-Disposition"] == disposition


def test_a_missing_bucket_or_no_credentials_stop_start_up_naming_the_variable(
    object_store: ObjectStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in object_store.env.items():
        monkeypatch.setenv(name, value)
    missing = dataclasses.replace(
        settings,
        storage="s3",
        s3_endpoint_url=object_store.endpoint,
        s3_bucket=f"nowhere-{uuid.uuid4().hex[:8]}",
    )
    with pytest.raises(SettingsError, match=r"DOCRENDER_S3_BUCKET=.* does not exist"):
        S3Storage.from_settings(missing)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        S3Storage.from_settings(dataclasses.replace(missing, s3_bucket=object_store.new_bucket()))
    with pytest.raises(SettingsError, match="DOCRENDER_S3_BUCKET must name"):
        Settings.from_env({"DOCRENDER_STORAGE": "s3"})
