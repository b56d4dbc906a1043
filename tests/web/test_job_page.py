"""A job's page as it reads without JavaScript (the server's rendering; tests/web/test_pages.py
follows the same page in a browser): counts that add up, a Failures heading only over
failures, Retry only on a finished job with failures, Cancel only while documents may wait,
and each says what it did."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import pytest
import redis
from flask.testing import FlaskClient

from docrender.i18n import StoredMessage
from docrender.jobs.store import DocumentStatus, JobStore, NewDocument
from docrender.settings import Settings
from tests.helpers.clients import record_job
from tests.helpers.documents import make_docx
from tests.helpers.pages import clerk, csrf_token

# A failure of the service (Retry is for those), and one of the data (its row is corrected).
FAILED: StoredMessage = {"code": "conversion_failed", "message": "LibreOffice could not convert"}
FROM_DATA: StoredMessage = {"code": "render_failed", "message": "division by zero"}


def job(redis_client: redis.Redis, tenant: str, outcomes: Sequence[DocumentStatus | None]) -> str:
    """A job of len(outcomes) documents, each made with its outcome (None: still waiting); a
    job whose documents all ended is finished."""
    store = JobStore(redis_client, 3600)
    job_id = record_job(store, tenant, [NewDocument(f"單位{i}", {}) for i in range(len(outcomes))])
    for index, outcome in enumerate(outcomes):
        if outcome is not None:
            store.start_document(job_id, index)
            store.finish_document(
                job_id, index, outcome, FAILED if outcome is DocumentStatus.FAILED else None
            )
    if None not in outcomes:
        assert store.finish(job_id)
    return job_id


def press(browser: FlaskClient, page: str, job_id: str, action: str, language: str) -> str:
    """Press the page's Retry failed or Cancel button (its form, with the page's token): the
    page it leads back to."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return browser.post(
        f"/web/jobs/{job_id}/{action}",
        data={"csrf_token": token[1]},
        headers={"Accept-Language": language},
        follow_redirects=True,
    ).get_data(as_text=True)


def shown(page: str, element_id: str) -> bool:
    """Whether the element is on the page and not hidden."""
    tag = re.search(rf'<[^>]* id="{element_id}"[^>]*>', page)
    assert tag is not None, element_id
    return " hidden" not in tag[0]


def test_a_finished_job_without_failures_offers_neither_retry_nor_cancel(
    settings: Settings, redis_client: redis.Redis
) -> None:
    browser, tenant = clerk(settings)
    done = DocumentStatus.SUCCEEDED
    page = browser.get(f"/web/jobs/{job(redis_client, tenant, [done] * 3)}")
    text = page.get_data(as_text=True)
    assert "3 of 3 documents" in text
    assert not shown(text, "failures-heading") and not shown(text, "failures")
    assert not shown(text, "retry") and not shown(text, "cancel")


def test_retry_is_offered_once_the_job_finished_with_failures_and_says_what_it_did(
    settings: Settings, redis_client: redis.Redis
) -> None:
    browser, tenant = clerk(settings)
    outcomes = [DocumentStatus.SUCCEEDED, DocumentStatus.FAILED, DocumentStatus.SUCCEEDED]
    job_id = job(redis_client, tenant, outcomes)
    text = browser.get(f"/web/jobs/{job_id}").get_data(as_text=True)
    assert "3 of 3 documents" in text and "LibreOffice could not convert" in text
    assert shown(text, "failures-heading") and shown(text, "retry") and not shown(text, "fix")
    assert not shown(text, "cancel")
    retried = press(browser, text, job_id, "retry", "zh-TW")
    assert "正在重新產生 1 份失敗的文件。" in retried


def test_cancel_is_offered_while_documents_wait_and_says_how_many_it_stopped(
    settings: Settings, redis_client: redis.Redis
) -> None:
    browser, tenant = clerk(settings)
    job_id = job(redis_client, tenant, [DocumentStatus.SUCCEEDED, None, None])
    text = browser.get(f"/web/jobs/{job_id}").get_data(as_text=True)
    assert "1 of 3 documents" in text
    assert shown(text, "cancel") and not shown(text, "retry")
    assert not shown(text, "failures-heading")
    cancelled = press(browser, text, job_id, "cancel", "en")
    assert "2 waiting documents were cancelled; those already started finish." in cancelled
    assert "Nothing was left to cancel" in press(browser, text, job_id, "cancel", "en")


def test_retry_counts_what_it_sent_even_when_the_document_fails_again_at_once(
    settings: Settings, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document whose data fails fails again within milliseconds of its retry: before the
    page that pressed Retry is drawn. The page said "No failed document could be made
    again" (it counted failures before and after); it says what Retry sent."""
    browser, tenant = clerk(settings)
    outcomes = [DocumentStatus.SUCCEEDED, DocumentStatus.FAILED]
    job_id = job(redis_client, tenant, outcomes)
    store = JobStore(redis_client, 3600)
    app_services = browser.application.extensions["docrender"]

    def fails_again_at_once(queued_job: str, indexes: list[int], urgent: bool = False) -> None:
        for index in indexes:  # a worker as fast as can be: the same failure, at once
            store.start_document(queued_job, index)
            store.finish_document(queued_job, index, DocumentStatus.FAILED, FAILED)

    monkeypatch.setattr(app_services.queue, "enqueue", fails_again_at_once)
    text = browser.get(f"/web/jobs/{job_id}").get_data(as_text=True)
    assert "1 failed document is being made again." in press(browser, text, job_id, "retry", "en")


def test_a_failure_of_the_data_is_fixed_by_correcting_its_row_not_retried(
    settings: Settings, redis_client: redis.Redis
) -> None:
    browser, tenant = clerk(settings)
    store = JobStore(redis_client, 3600)
    job_id = record_job(store, tenant, [NewDocument("單位0", {}), NewDocument("單位1", {})])
    for index, error in ((0, None), (1, FROM_DATA)):
        store.start_document(job_id, index)
        status = DocumentStatus.FAILED if error else DocumentStatus.SUCCEEDED
        store.finish_document(job_id, index, status, error)
    assert store.finish(job_id)
    text = browser.get(f"/web/jobs/{job_id}").get_data(as_text=True)
    assert "division by zero" in text
    assert shown(text, "fix") and not shown(text, "retry")


def test_a_batch_with_a_row_missing_a_value_makes_the_others_and_leaves_that_one_to_fix(
    settings: Settings,
) -> None:
    """One empty cell no longer holds back the other units: Render makes the rows that fit
    and leaves that one out, failed with what to fill in, to be corrected on the job's page."""
    browser, tenant = clerk(settings)
    page = browser.get("/web/templates").get_data(as_text=True)
    browser.post(
        "/web/templates",
        data={
            "csrf_token": csrf_token(page),
            "template": (io.BytesIO(make_docx("{{ unit }} {{ day }}")), "填報表.docx"),
        },
    )
    app_services = browser.application.extensions["docrender"]
    (template,) = app_services.templates.list(tenant)
    page = browser.get("/web/batch").get_data(as_text=True)
    answer = browser.post(
        "/web/batch",
        data={
            "csrf_token": csrf_token(page),
            "template": template.id,
            "action": "render",
            "data": (io.BytesIO("unit,day\n甲校,1\n乙校,\n".encode()), "units.csv"),
        },
        headers={"Accept-Language": "zh-TW"},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    job_id = answer.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    job = app_services.jobs.get(job_id, tenant)
    assert [doc.status for doc in job.documents][1] == DocumentStatus.FAILED
    assert job.documents[0].status is not DocumentStatus.FAILED
    text = browser.get(f"/web/jobs/{job_id}", headers={"Accept-Language": "zh-TW"}).get_data(
        as_text=True
    )
    assert "乙校: 「day」沒有填寫，請補上。" in text
