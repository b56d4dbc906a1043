"""A job as the API shows it, and as its webhook sends it."""

from __future__ import annotations

from typing import Any

from docrender.jobstore import SUCCEEDED, Job


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "template": job.template,
        "format": job.format,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "progress": {
            "total": len(job.documents),
            "succeeded": job.succeeded,
            "failed": job.failed,
        },
        "documents": [
            {
                "index": doc.index,
                "name": doc.name,
                "status": doc.status,
                "error": doc.error,
                "warnings": doc.warnings,
                "url": f"/v1/jobs/{job.id}/documents/{doc.index}"
                if doc.status == SUCCEEDED
                else None,
            }
            for doc in job.documents
        ],
        "callback": None
        if job.callback is None
        else {
            "url": job.callback.url,
            "status": job.callback.status,
            "attempts": job.callback.attempts,
            "last_error": job.callback.last_error,
        },
    }
