"""What follows a job's end (workers/ending.py) against a real Redis and local storage: the
job finishes only with its files stored, a failure leaves it to be handled again, and however
often its end is handled, its webhook is scheduled once."""

from __future__ import annotations

import contextlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pikepdf
import pytest
import redis

from docrender.jobs.options import JobOptions
from docrender.jobs.store import (
    DocumentStatus,
    JobKind,
    JobStore,
    NewDocument,
    NewJob,
    PagesIn,
)
from docrender.storage import LocalStorage, job_archive_key, job_document_key, job_merged_key
from tests.helpers.clients import record_job
from workers.ending import handle_end


class FlakyStorage(LocalStorage):
    """Local storage whose archive writes fail while ``down`` is set."""

    down = True

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        if self.down and key == job_archive_key(key.split("/")[1]):
            raise OSError("the object store is unreachable")
        with super().writer(key) as out:
            yield out


def blank_pages(count: int, width: int = 612) -> bytes:
    pdf = pikepdf.new()
    for _ in range(count):
        pdf.add_blank_page(page_size=(width, 792))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def ended_job(
    jobs: JobStore,
    storage: LocalStorage,
    names: list[str],
    kind: JobKind = JobKind.BATCH,
    pages_in: dict[int, PagesIn] | None = None,
) -> str:
    job_id = uuid.uuid4().hex
    documents = [NewDocument(name, {}) for name in names]
    jobs.create(NewJob(job_id, "t", "tpl", "k", JobOptions(), documents, kind=kind))
    for index in range(len(names)):
        storage.put(job_document_key(job_id, index, "pdf"), blank_pages(1))
        jobs.start_document(job_id, index)
        jobs.finish_document(
            job_id,
            index,
            DocumentStatus.SUCCEEDED,
            pages_in=(pages_in or {}).get(index),
        )
    return job_id


def test_the_job_finishes_with_its_files_and_its_webhook_goes_once(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    jobs, storage = JobStore(redis_client, 3600), LocalStorage(tmp_path)
    job_id = ended_job(jobs, storage, ["甲", "乙"])
    webhooks: list[str] = []
    assert handle_end(job_id, jobs, storage, webhooks.append)
    job = jobs.get(job_id, None)
    assert job is not None and job.finished_at is not None and job.status == "succeeded"
    with zipfile.ZipFile(storage.open(job_archive_key(job_id))) as archive:
        assert archive.namelist() == ["甲.pdf", "乙.pdf"]
    assert len(pikepdf.open(io.BytesIO(storage.read(job_merged_key(job_id)))).pages) == 2
    # Handled again (a redelivery, the sweeper): nothing changes, no second webhook.
    assert handle_end(job_id, jobs, storage, webhooks.append)
    assert webhooks == [job_id]
    assert jobs.get(job_id, None).finished_at == job.finished_at  # type: ignore[union-attr]


def test_the_volume_takes_pages_from_a_kept_conversion_only_where_they_are_there(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Document 0's pages are in a kept conversion (drawn 300 points wide, its own file 612);
    document 1 points past the conversion's end, document 2 at a conversion never stored:
    those two come from their own files, and no document is left out."""
    jobs, storage = JobStore(redis_client, 3600), LocalStorage(tmp_path)
    kept = "jobs/x/conversions/kept.pdf"
    storage.put(kept, blank_pages(1, width=300))
    pages = {
        0: PagesIn(kept, 0, 1),
        1: PagesIn(kept, 1, 3),
        2: PagesIn("jobs/x/conversions/gone.pdf", 0, 1),
    }
    job_id = ended_job(jobs, storage, ["甲", "乙", "丙"], pages_in=pages)
    assert handle_end(job_id, jobs, storage, lambda _job: None)
    volume = pikepdf.open(io.BytesIO(storage.read(job_merged_key(job_id))))
    assert [float(page.mediabox[2]) for page in volume.pages] == [300, 612, 612]


def test_a_failed_bundle_leaves_the_job_unfinished_and_its_end_to_handle(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    jobs, storage = JobStore(redis_client, 3600), FlakyStorage(tmp_path)
    job_id = ended_job(jobs, storage, ["甲"])
    webhooks: list[str] = []
    with pytest.raises(OSError):
        handle_end(job_id, jobs, storage, webhooks.append)
    job = jobs.get(job_id, None)
    assert job is not None and job.finished_at is None and job.status == "running"
    assert redis_client.zscore(JobStore.ENDINGS, job_id) is not None  # the sweeper's to find
    assert webhooks == []
    storage.down = False  # the task's retry, or the sweeper's, a minute later
    assert handle_end(job_id, jobs, storage, webhooks.append)
    assert jobs.get(job_id, None).finished_at is not None  # type: ignore[union-attr]
    assert webhooks == [job_id]


def test_a_job_retried_before_its_end_was_handled_is_left_to_its_next_end(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    jobs, storage = JobStore(redis_client, 3600), LocalStorage(tmp_path)
    job_id = record_job(jobs, "t", [NewDocument("甲", {})])
    jobs.start_document(job_id, 0)
    jobs.finish_document(job_id, 0, DocumentStatus.FAILED, {"code": "x", "message": "y"})
    assert jobs.requeue_failed(job_id, cap=100).again == [0]
    webhooks: list[str] = []
    assert not handle_end(job_id, jobs, storage, webhooks.append)
    assert jobs.get(job_id, None).finished_at is None  # type: ignore[union-attr]
    assert webhooks == []


def test_a_preview_finishes_without_an_archive_or_a_merged_volume(
    redis_client: redis.Redis, tmp_path: Path
) -> None:
    jobs, storage = JobStore(redis_client, 3600), LocalStorage(tmp_path)
    job_id = ended_job(jobs, storage, ["甲"], kind=JobKind.PREVIEW)
    assert handle_end(job_id, jobs, storage, lambda job_id: None)
    assert jobs.get(job_id, None).finished_at is not None  # type: ignore[union-attr]
    assert not storage.exists(job_archive_key(job_id))
    assert not storage.exists(job_merged_key(job_id))
