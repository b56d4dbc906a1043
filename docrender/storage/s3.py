"""Files in an S3-compatible object store (AWS S3, MinIO...), for API and workers on several
hosts: the same Storage as docrender/storage/__init__.py's LocalStorage, chosen by
``DOCRENDER_STORAGE=s3``.

Keys are the same (``jobs/<job>/<index>.pdf``) under ``DOCRENDER_S3_PREFIX``. An object is
written whole by one PUT, so readers never see half of one. Downloads are streamed from the
store, or with ``DOCRENDER_S3_PRESIGN=1`` redirected to a presigned URL (valid five minutes),
so that large files do not pass through the API. Credentials and region come from the
standard ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_DEFAULT_REGION`` variables
(or an instance role); with ``DOCRENDER_S3_ENDPOINT_URL`` set, path-style addressing is used,
as MinIO expects.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import boto3
import botocore.config
import botocore.exceptions

from docrender.settings import Settings, SettingsError

PRESIGNED_SECONDS = 300


class S3Storage:
    def __init__(self, client: Any, bucket: str, prefix: str = "", presign: bool = False) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.presign = presign

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """Connect and check the bucket, so that a missing bucket or bad credentials stop
        start-up with a message naming what to fix."""
        config = botocore.config.Config(
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        # A session of its own: credentials as the environment says now, not as cached.
        client = boto3.session.Session().client(
            "s3", endpoint_url=settings.s3_endpoint_url, config=config
        )
        storage = cls(
            client, cast(str, settings.s3_bucket), settings.s3_prefix, settings.s3_presign
        )
        storage.check()
        return storage

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.NoCredentialsError:
            raise SettingsError(
                "DOCRENDER_STORAGE=s3 needs credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or give the host a role)"
            ) from None
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket"):
                reason = "does not exist: create it, or fix DOCRENDER_S3_BUCKET"
            elif code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                reason = (
                    "refuses these credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                )
            else:
                reason = f"cannot be used ({code or exc})"
            raise SettingsError(f"DOCRENDER_S3_BUCKET={self.bucket!r} {reason}") from None
        except botocore.exceptions.EndpointConnectionError as exc:
            raise SettingsError(f"DOCRENDER_S3_ENDPOINT_URL cannot be reached ({exc})") from None

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Written to a local file (in memory up to 32 MB), then uploaded with boto3's managed
        transfer: in parts for a large file, never the whole in memory."""
        with tempfile.SpooledTemporaryFile(max_size=32 << 20) as out:
            yield cast(BinaryIO, out)
            out.seek(0)
            self.client.upload_fileobj(out, self.bucket, self._key(key))

    def open(self, key: str) -> BinaryIO:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        return cast(BinaryIO, answer["Body"])  # streamed: read() as it comes

    def read(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def download_url(self, key: str, content_disposition: str) -> str | None:
        """A presigned URL that downloads ``key`` with that Content-Disposition; None unless
        presigning."""
        if not self.presign:
            return None
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentDisposition": content_disposition,
                },
                ExpiresIn=PRESIGNED_SECONDS,
            )
        )

    def delete_jobs_older_than(self, seconds: float) -> list[str]:
        """Remove the objects of jobs submitted more than ``seconds`` ago (a job's age is
        that of its template copy); returns their ids."""
        cutoff = time.time() - seconds
        objects: dict[str, list[str]] = defaultdict(list)
        expired: list[str] = []
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=self._key("jobs/")):
            for item in page.get("Contents", []):
                job_id = item["Key"][len(self._key("jobs/")) :].split("/", 1)[0]
                objects[job_id].append(item["Key"])
                if item["Key"].endswith("/template.docx") and (
                    item["LastModified"].timestamp() < cutoff
                ):
                    expired.append(job_id)
        for job_id in expired:
            keys = objects[job_id]
            for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 at a time
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={
                        "Objects": [{"Key": key} for key in keys[start : start + 1000]],
                        "Quiet": True,
                    },
                )
        return expired
