"""The job store against a real Redis: states move once, counts never double."""

from __future__ import annotations

import time

import redis

from docrender.jobs.options import JobOptions
from docrender.jobs.store import (
    SHORT_RETENTION_SECONDS,
    DocumentStatus,
    Finish,
    Job,
    JobKind,
    JobStatus,
    JobStore,
    NewDocument,
    NewJob,
    PagesIn,
)
from tests.helpers.clients import record_job

RUNNING, SUCCEEDED, FAILED = DocumentStatus.RUNNING, DocumentStatus.SUCCEEDED, DocumentStatus.FAILED


def make_job(store: JobStore, count: int = 2) -> str:
    return record_job(store, "tenant1", [NewDocument(f"doc-{i}", {"i": i}) for i in range(count)])


def test_new_job_is_queued_with_every_document(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job = store.get(make_job(store, 3), "tenant1")
    assert job is not None
    assert job.status == "queued"
    assert [d.status for d in job.documents] == ["queued"] * 3
    assert redis_client.ttl(f"docrender:job:{job.id}") > 3500


def test_one_document_reads_as_the_whole_job_reads_it(redis_client: redis.Redis) -> None:
    """A download reads one document's state: the same state the job's holds (its pages in
    a kept conversion included), and nothing for another tenant or an index not in the job."""
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 3)
    store.start_document(job_id, 1)
    pages_in = PagesIn("jobs/x/conversions/y.pdf", 4, 9)
    store.finish_document(job_id, 1, SUCCEEDED, language="zh-Hant", pages_in=pages_in)
    job = store.get(job_id, "tenant1")
    assert job is not None
    assert store.document(job_id, 1, "tenant1") == (job.options, job.documents[1])
    assert job.documents[1].pages_in == pages_in
    assert store.document(job_id, 3, "tenant1") == (job.options, None)
    assert store.document(job_id, 1, "tenant2") is None
    assert store.document("nojob", 1, "tenant1") is None


def test_another_tenant_cannot_see_the_job(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    assert store.get(make_job(store), "tenant2") is None


def test_states_progress_to_partial_and_finish_once(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store)
    work = store.start_document(job_id, 0)
    assert work is not None and work.data == {"i": 0}
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == JobStatus.RUNNING
    assert store.finish_document(job_id, 0, SUCCEEDED)
    store.start_document(job_id, 1)
    assert store.finish_document(job_id, 1, FAILED, {"code": "render_failed", "message": "x"})
    # Ended, not finished: its files are not stored yet (workers/ending.py stores them).
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == JobStatus.RUNNING and job.finished_at is None
    assert store.ended(job_id)
    assert store.finish(job_id)
    job = store.get(job_id, "tenant1")
    assert job is not None
    assert job.status == "partial" and job.finished_at is not None
    assert (job.succeeded, job.failed) == (1, 1)
    assert not store.finish(job_id)  # once


def test_redelivered_task_neither_recounts_nor_reruns(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 1)
    store.start_document(job_id, 0)
    store.finish_document(job_id, 0, SUCCEEDED)
    # The same task delivered again (its ack was lost): nothing to do, nothing changes.
    assert store.start_document(job_id, 0) is None
    assert not store.finish_document(job_id, 0, FAILED, {"code": "x", "message": "y"})
    store.finish(job_id)
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == JobStatus.SUCCEEDED
    assert redis_client.hget(f"docrender:job:{job_id}", "done") == "1"


def test_a_running_document_may_be_restarted_after_a_crash(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 1)
    assert store.start_document(job_id, 0) is not None
    # The worker died mid-document; the broker re-delivers: the work is handed out again.
    assert store.start_document(job_id, 0) is not None


def test_cancel_stops_queued_documents_and_finishes_the_job(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 3)
    store.start_document(job_id, 0)  # running: it will finish normally
    assert store.cancel_queued(job_id) == 2
    job = store.get(job_id, "tenant1")
    assert job is not None and job.finished_at is None
    assert [d.status for d in job.documents] == ["running", "cancelled", "cancelled"]
    assert store.start_document(job_id, 1) is None  # a worker picking it up does nothing
    assert store.finish_document(job_id, 0, SUCCEEDED) == Finish.JOB_ENDED
    assert store.finish(job_id)
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == "cancelled" and job.finished_at is not None


def test_retry_requeues_only_failed_documents(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 3)
    for index, status in enumerate([SUCCEEDED, FAILED, FAILED]):
        store.start_document(job_id, index)
        store.finish_document(
            job_id, index, status, None if status == SUCCEEDED else {"code": "x", "message": "y"}
        )
    assert store.finish(job_id)
    assert store.requeue_failed(job_id, cap=100).again == [1, 2]
    job = store.get(job_id, "tenant1")
    assert job is not None
    assert job.status == JobStatus.RUNNING and job.finished_at is None
    assert [d.error for d in job.documents] == [None, None, None]
    assert not store.finish(job_id)  # a bundle built before the retry does not finish it
    for index in (1, 2):
        store.start_document(job_id, index)
        store.finish_document(job_id, index, SUCCEEDED)
    assert store.finish(job_id)  # its new end, its new bundle
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == JobStatus.SUCCEEDED


def _end(store: JobStore, job_id: str, count: int, status: DocumentStatus = SUCCEEDED) -> None:
    for index in range(count):
        store.start_document(job_id, index)
        store.finish_document(
            job_id,
            index,
            status,
            None if status == SUCCEEDED else {"code": "render_failed", "message": "x"},
        )


def test_a_jobs_end_is_recorded_with_its_last_document_until_it_is_handled(
    redis_client: redis.Redis,
) -> None:
    """The end joins the endings to handle in the same script that records the last document,
    so no crash between the two can lose it; handling it takes it off, once."""
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 2)
    _end(store, job_id, 1)
    assert redis_client.zscore(JobStore.ENDINGS, job_id) is None  # not ended yet
    _end(store, job_id, 2)
    assert redis_client.zscore(JobStore.ENDINGS, job_id) is not None
    assert store.finish(job_id)
    assert store.end_handled(job_id)
    assert not store.end_handled(job_id)  # a second delivery of the end sends no webhook


def test_the_sweeper_claims_only_ends_left_unhandled_past_the_grace(
    redis_client: redis.Redis,
) -> None:
    store = JobStore(redis_client, 3600)
    stale, fresh, gone = make_job(store, 1), make_job(store, 1), make_job(store, 1)
    for job_id in (stale, fresh, gone):
        _end(store, job_id, 1)
    redis_client.zadd(JobStore.ENDINGS, {stale: time.time() - 300, gone: time.time() - 300})
    store.delete(gone)  # expired meanwhile
    claimed = store.claim_endings(older_than=120)
    assert stale in claimed and fresh not in claimed and gone not in claimed
    assert redis_client.zscore(JobStore.ENDINGS, gone) is None  # dropped, not claimed forever
    assert stale not in store.claim_endings(older_than=120)  # claimed for another grace
    assert stale in store.claim_endings(older_than=0)


def test_a_retry_takes_the_end_back_and_its_undo_restores_it(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 2)
    _end(store, job_id, 2, FAILED)  # ended, not handled yet (its end task is on its way)
    retried = store.requeue_failed(job_id, cap=100)
    assert retried.again == [0, 1]
    assert redis_client.zscore(JobStore.ENDINGS, job_id) is None and not store.ended(job_id)
    assert not store.finish(job_id)  # the end task arriving now finds nothing to finish
    # The retry's tasks could not be sent: the documents fail again and the end is due again.
    assert store.undo_retry(retried) == 2
    assert store.ended(job_id) and redis_client.zscore(JobStore.ENDINGS, job_id) is not None
    assert store.finish(job_id)


def test_a_preview_is_kept_out_of_its_tenants_list_and_lives_briefly(
    redis_client: redis.Redis,
) -> None:
    store = JobStore(redis_client, 7 * 24 * 3600)
    tenant = f"t-{time.time_ns()}"
    batch = record_job(store, tenant, [NewDocument("甲", {})])
    preview_id = "p" + batch[1:]
    store.create(
        NewJob(
            preview_id,
            tenant,
            "tpl",
            "k",
            JobOptions(),
            [NewDocument("甲", {})],
            kind=JobKind.PREVIEW,
        )
    )
    listed, _ = store.list(tenant, 20)
    assert [job.id for job in listed] == [batch]
    preview = store.get(preview_id, tenant)
    assert preview is not None and preview.kind is JobKind.PREVIEW
    assert 0 < redis_client.ttl(JobStore.key(preview_id)) <= SHORT_RETENTION_SECONDS
    assert redis_client.ttl(JobStore.key(batch)) > SHORT_RETENTION_SECONDS


def test_a_list_counts_each_job_as_its_documents_do_and_each_status_has_its_index(
    redis_client: redis.Redis,
) -> None:
    """A list reads one hash a job (its counts), not every document; a status filter walks
    that status's index. Through a job's whole life, the list says what the job says."""
    store = JobStore(redis_client, 3600)
    tenant = f"t-{time.time_ns()}"

    def listed(status: str | None = None) -> dict[str, Job]:
        return {job.id: job for job in store.list(tenant, 50, None, status)[0]}

    def agree(job_id: str, status: JobStatus) -> None:
        summary, full = listed()[job_id], store.get(job_id, tenant)
        assert full is not None and summary.documents == [] and summary.counts is not None
        assert (summary.status, summary.succeeded, summary.failed, summary.total) == (
            full.status,
            full.succeeded,
            full.failed,
            full.total,
        )
        assert summary.status is status
        assert list(listed(status)) == [job_id]  # its status's own index

    job_id = record_job(store, tenant, [NewDocument("甲", {}), NewDocument("乙", {})])
    agree(job_id, JobStatus.QUEUED)
    store.start_document(job_id, 0)
    agree(job_id, JobStatus.RUNNING)
    store.finish_document(job_id, 0, DocumentStatus.SUCCEEDED)
    store.start_document(job_id, 1)
    store.finish_document(job_id, 1, DocumentStatus.FAILED, {"code": "x", "message": "y"})
    agree(job_id, JobStatus.RUNNING)  # ended; finished once its files are stored
    assert store.finish(job_id)
    agree(job_id, JobStatus.PARTIAL)
    assert listed(JobStatus.RUNNING) == {} and listed(JobStatus.FAILED) == {}
    retried = store.requeue_failed(job_id, 100)
    agree(job_id, JobStatus.RUNNING)
    assert listed(JobStatus.PARTIAL) == {}
    store.undo_retry(retried)  # the broker refused it: the job is as it was
    agree(job_id, JobStatus.PARTIAL)
    cancelled = record_job(store, tenant, [NewDocument("丙", {})])
    store.cancel_queued(cancelled)
    assert store.finish(cancelled)
    agree(cancelled, JobStatus.CANCELLED)
    # A job that expired leaves the index it is met in.
    redis_client.delete(JobStore.key(job_id))
    assert listed(JobStatus.PARTIAL) == {}
    assert redis_client.zscore(f"{JobStore.tenant_jobs_key(tenant)}:partial", job_id) is None
