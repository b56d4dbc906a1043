from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from docrender.storage import LocalStorage, job_document_key, job_template_key


def test_put_read_overwrite_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = job_document_key("job1", 0, "pdf")
    storage.put(key, b"first")
    storage.put(key, b"second")  # a re-delivered task overwrites its own output
    assert storage.read(key) == b"second"
    assert storage.exists(key)
    assert [p.name for p in (tmp_path / "jobs" / "job1").iterdir()] == ["0.pdf"]  # no temp files
    storage.delete(key)
    assert not storage.exists(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "jobs/../../x", "a//b", ""])
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).put(key, b"x")


def test_files_of_expired_jobs_are_purged(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    for job in ("old", "new"):
        storage.put(job_template_key(job), b"t")
        storage.put(job_document_key(job, 0, "pdf"), b"p")
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / job_template_key("old"), (week_ago, week_ago))
    assert storage.delete_jobs_older_than(7 * 86400) == ["old"]
    assert not storage.exists(job_document_key("old", 0, "pdf"))
    assert storage.exists(job_document_key("new", 0, "pdf"))
