"""What each tenant keeps in storage, counted as files are written, over a real Redis."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
import redis

from docrender.errors import StorageQuotaExceeded
from docrender.storage import (
    LocalStorage,
    MeteredStorage,
    job_archive_key,
    job_document_key,
    job_file_key,
    job_merged_key,
    job_template_key,
)
from docrender.templates.registry import template_key
from docrender.tenants.usage import Usage


@pytest.fixture
def metered(redis_client: redis.Redis, tmp_path: Path) -> MeteredStorage:
    return MeteredStorage(LocalStorage(tmp_path), Usage(redis_client, quota=1000))


def test_files_count_once_however_often_they_are_written(metered: MeteredStorage) -> None:
    tenant, job = f"t{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    usage = metered.usage
    metered.put(template_key(tenant, "tpl"), b"x" * 100)
    usage.start_job(job, tenant)
    metered.put(job_template_key(job), b"x" * 100)
    metered.put(job_file_key(job, "seal.png"), b"x" * 50)
    metered.put(job_document_key(job, 0, "pdf"), b"x" * 300)
    assert usage.used(tenant) == 550
    metered.put(job_document_key(job, 0, "pdf"), b"x" * 200)  # a retried document replaces
    assert usage.used(tenant) == 450
    metered.delete(template_key(tenant, "tpl"))
    assert usage.used(tenant) == 350


def test_a_file_written_as_it_is_made_is_claimed_before_it_is_stored(
    metered: MeteredStorage,
) -> None:
    """``writer`` (a job's archive and merged volume, written as they are built): what passes
    the quota is refused and not stored, a copy of counted documents is counted and never
    refused, and a block that fails stores and counts nothing."""
    tenant, job = f"t{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    metered.usage.start_job(job, tenant)
    metered.put(job_document_key(job, 0, "pdf"), b"x" * 900)
    with (
        pytest.raises(StorageQuotaExceeded),
        metered.writer(job_document_key(job, 1, "pdf")) as out,
    ):
        out.write(b"x" * 200)
    assert not metered.exists(job_document_key(job, 1, "pdf"))
    assert metered.usage.used(tenant) == 900
    with metered.writer(job_archive_key(job)) as out:
        out.write(b"x" * 900)
    assert metered.read(job_archive_key(job)) == b"x" * 900
    assert metered.usage.used(tenant) == 1800
    with pytest.raises(OSError), metered.writer(job_merged_key(job)) as out:
        out.write(b"x" * 100)
        raise OSError("the save failed")
    assert not metered.exists(job_merged_key(job))
    assert metered.usage.used(tenant) == 1800


def test_the_quota_refuses_what_would_pass_it(metered: MeteredStorage) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    metered.put(template_key(tenant, "tpl"), b"x" * 900)
    metered.usage.check(tenant, 100)  # exactly the quota
    with pytest.raises(StorageQuotaExceeded) as refused:
        metered.usage.check(tenant, 101)
    assert refused.value.details == {"limit": 1000, "used": 900, "incoming": 101}
    assert refused.value.status == 413


def test_the_purge_gives_back_what_expired_jobs_kept(
    metered: MeteredStorage, tmp_path: Path
) -> None:
    tenant, old, new = f"t{uuid.uuid4().hex[:8]}", uuid.uuid4().hex, uuid.uuid4().hex
    for job in (old, new):
        metered.usage.start_job(job, tenant)
        metered.put(job_template_key(job), b"x" * 100)
        metered.put(job_document_key(job, 0, "pdf"), b"x" * 100)
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / job_template_key(old), (week_ago, week_ago))
    assert metered.delete_jobs_older_than(7 * 86400) == [old]
    assert metered.usage.used(tenant) == 200
