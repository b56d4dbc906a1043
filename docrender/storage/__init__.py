"""Where files live: templates, and each job's rendered documents.

Storage is an interface chosen in the settings: a local directory (LocalStorage, here) or an
S3-compatible object store (docrender/storage/s3.py), both counted per tenant by MeteredStorage.
Keys are deterministic (``jobs/<job>/<index>.pdf``), so a re-delivered task overwrites its own
output instead of adding a second copy.

May import: tenants (each tenant's bytes are counted where they are written) and the modules
at docrender's top.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from docrender.settings import Settings
from docrender.tenants.usage import Usage

_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A file whose content is stored under ``key`` when the block ends without an error,
        written as it is made (a job's archive), never held whole in memory."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def read(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_jobs_older_than(self, seconds: float) -> list[str]: ...

    def download_url(self, key: str, content_disposition: str) -> str | None:
        """Where a client may fetch ``key`` directly (a presigned URL), or None: stream it."""
        ...


class LocalStorage:
    """Files under one directory. Writes are atomic: readers never see half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        with self.writer(key) as out:
            out.write(data)

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Written beside its place and moved in: a reader sees the old file or the new one."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def download_url(self, key: str, content_disposition: str) -> str | None:
        return None

    def delete_jobs_older_than(self, seconds: float) -> list[str]:
        """Remove the files of jobs submitted more than ``seconds`` ago (their Redis records
        expire by TTL); a job's age is that of its template copy, written at submission.
        Returns the ids of the jobs removed."""
        cutoff = time.time() - seconds
        removed = []
        for job_dir in (self.root / "jobs").glob("*"):
            template = job_dir / "template.docx"
            with contextlib.suppress(FileNotFoundError):
                if template.stat().st_mtime < cutoff:
                    shutil.rmtree(job_dir, ignore_errors=True)
                    removed.append(job_dir.name)
        return removed


class MeteredStorage:
    """A Storage that counts what it keeps (see Usage); reads pass straight through."""

    def __init__(self, storage: Storage, usage: Usage) -> None:
        self.storage = storage
        self.usage = usage

    def put(self, key: str, data: bytes) -> None:
        """Claim the bytes (StorageQuotaExceeded past the tenant's quota), then write them;
        a failed write gives the claim back."""
        before = self.usage.claim(key, len(data), refusable=not _derived(key))
        try:
            self.storage.put(key, data)
        except BaseException:
            self.usage.record(key, before)
            raise

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Claims the bytes written when the block ends, before they are stored (past the quota
        nothing is); a failed store gives the claim back."""
        before: int | None = None
        try:
            with self.storage.writer(key) as out:
                yield out
                before = self.usage.claim(key, out.tell(), refusable=not _derived(key))
        except BaseException:
            if before is not None:
                self.usage.record(key, before)
            raise

    def open(self, key: str) -> BinaryIO:
        return self.storage.open(key)

    def read(self, key: str) -> bytes:
        return self.storage.read(key)

    def exists(self, key: str) -> bool:
        return self.storage.exists(key)

    def delete(self, key: str) -> None:
        self.storage.delete(key)
        self.usage.record(key, 0)

    def download_url(self, key: str, content_disposition: str) -> str | None:
        return self.storage.download_url(key, content_disposition)

    def delete_jobs_older_than(self, seconds: float) -> list[str]:
        removed = self.storage.delete_jobs_older_than(seconds)
        for job_id in removed:
            self.usage.forget_job(job_id)
        return removed


def _derived(key: str) -> bool:
    """A job's archive and merged volume: copies of its documents, counted but never refused
    (docrender/tenants/usage.py)."""
    parts = key.split("/")
    return len(parts) == 3 and key in (job_archive_key(parts[1]), job_merged_key(parts[1]))


def storage_from_settings(settings: Settings, usage: Usage) -> Storage:
    """The storage the settings chose, counting what each tenant keeps (docrender/tenants/usage.py).
    For s3, the bucket is checked now: a missing bucket or bad credentials stop start-up."""
    if settings.storage == "s3":
        from docrender.storage.s3 import S3Storage  # boto3 is loaded only when chosen

        return MeteredStorage(S3Storage.from_settings(settings), usage)
    return MeteredStorage(LocalStorage(settings.data_dir / "files"), usage)


def job_template_key(job_id: str) -> str:
    """Each job keeps its own copy of the template, so deleting the template later (or
    uploading a new version) cannot change or break documents already accepted."""
    return f"jobs/{job_id}/template.docx"


def job_data_key(job_id: str) -> str:
    """Where a job's data is counted (Redis keeps it; nothing is stored under this key)."""
    return f"jobs/{job_id}/data.json"


def job_document_key(job_id: str, index: int, output_format: str) -> str:
    return f"jobs/{job_id}/{index}.{output_format}"


def job_file_key(job_id: str, name: str) -> str:
    """A file uploaded with a job (an image its data names). ``name`` is checked at upload:
    letters, digits, '.', '_', '-' (api/submission.py)."""
    return f"jobs/{job_id}/files/{name}"


def job_merged_key(job_id: str) -> str:
    return f"jobs/{job_id}/merged.pdf"


def job_archive_key(job_id: str) -> str:
    return f"jobs/{job_id}/archive.zip"


def job_conversion_key(job_id: str, token: str) -> str:
    """A combined conversion of some of the job's documents, as LibreOffice made it: the merged
    volume takes their pages from it (workers/pdf/bundle.py). Counted and refused like the
    documents' own files, after them. ``token`` is new for each conversion, so a re-delivered
    task never overwrites pages a recorded document points at."""
    return f"jobs/{job_id}/conversions/{token}.pdf"
