"""The job store against a real Redis: states move once, counts never double."""

from __future__ import annotations

import redis

from docrender.jobs.store import DocumentStatus, Finish, JobStore, NewDocument
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


def test_another_tenant_cannot_see_the_job(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    assert store.get(make_job(store), "tenant2") is None


def test_states_progress_to_partial_and_finish_once(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store)
    work = store.start_document(job_id, 0)
    assert work is not None and work.data == {"i": 0}
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == RUNNING
    assert store.finish_document(job_id, 0, SUCCEEDED)
    store.start_document(job_id, 1)
    assert store.finish_document(job_id, 1, FAILED, {"code": "render_failed", "message": "x"})
    job = store.get(job_id, "tenant1")
    assert job is not None
    assert job.status == "partial" and job.finished_at is not None
    assert (job.succeeded, job.failed) == (1, 1)


def test_redelivered_task_neither_recounts_nor_reruns(redis_client: redis.Redis) -> None:
    store = JobStore(redis_client, 3600)
    job_id = make_job(store, 1)
    store.start_document(job_id, 0)
    store.finish_document(job_id, 0, SUCCEEDED)
    # The same task delivered again (its ack was lost): nothing to do, nothing changes.
    assert store.start_document(job_id, 0) is None
    assert not store.finish_document(job_id, 0, FAILED, {"code": "x", "message": "y"})
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == SUCCEEDED
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
    assert store.finish_document(job_id, 0, SUCCEEDED) == Finish.JOB_FINISHED
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
    assert store.mark_bundled(job_id)
    assert store.requeue_failed(job_id, cap=100).again == [1, 2]
    job = store.get(job_id, "tenant1")
    assert job is not None
    assert job.status == RUNNING and job.finished_at is None and not job.bundled
    assert [d.error for d in job.documents] == [None, None, None]
    assert not store.mark_bundled(job_id)  # a bundle built before the retry is not "ready"
    for index in (1, 2):
        store.start_document(job_id, index)
        store.finish_document(job_id, index, SUCCEEDED)
    job = store.get(job_id, "tenant1")
    assert job is not None and job.status == SUCCEEDED
