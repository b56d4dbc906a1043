"""Settings, built once from the environment and passed in everywhere else.

Nothing outside this module reads ``os.environ`` for configuration. Every variable is
validated at start-up, and an error names the variable that is wrong.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import limits

PROJECT_ROOT = Path(__file__).resolve().parent.parent

TENANT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class SettingsError(ValueError):
    """A DOCRENDER_* variable is missing or malformed; the message names it."""


# Threads of each API process (deploy/gunicorn.conf.py): long polls hold one each.
API_THREADS = 16


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    data_dir: Path = PROJECT_ROOT / "var"
    # Font files the deployment owns (licensed faces: 方正小标宋, 仿宋_GB2312...): every
    # LibreOffice instance uses them before any substitute, and the font report says they
    # print as asked. Readable by the user LibreOffice runs as.
    fonts_dir: Path | None = None
    bind: str = "127.0.0.1:8000"
    # api key -> tenant
    api_keys: Mapping[str, str] = field(default_factory=dict)
    retention_seconds: int = 7 * 86400
    # Where files live: "local" (under data_dir) or "s3" (the bucket below; credentials and
    # region from the standard AWS_* variables).
    storage: str = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # unset: AWS; set: MinIO or another S3-compatible store
    s3_prefix: str = ""
    s3_presign: bool = False  # downloads redirect to presigned URLs instead of streaming
    # Worker processes, each with its own LibreOffice instance.
    workers: int = max(os.cpu_count() or 1, 1)
    api_processes: int = 2
    max_template_bytes: int = 20 * 1024 * 1024
    max_request_bytes: int = 50 * 1024 * 1024
    max_documents_per_job: int = 1000
    # One document's data, as JSON (its images as base64 included): what one worker loads.
    max_document_bytes: int = 16 * 1024 * 1024
    # Turns GET /metrics on, for scrapers that send it as a Bearer token; on a worker host
    # without an API, metrics_bind (host:port) serves the same from the worker.
    metrics_token: str | None = None
    metrics_bind: str | None = None
    # Signs the pages' session cookies; None: one made once and shared through Redis.
    secret_key: str | None = None
    # Bytes a tenant may keep in storage: templates, and its jobs' files until they expire.
    tenant_storage_bytes: int = 10 * 1024**3
    # The memory of the Redis `make run` starts (compose sets its own): past it, writes are
    # refused (noeviction: nothing accepted is dropped) and the API answers 503.
    redis_max_memory: int = 1024**3
    # An image from the data (workers/fill/images.py): its bytes, and its pixels (width x height).
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    # Requests per tenant across all API processes, in the `limits` syntax: those that change
    # something (submissions, uploads, retries), and reads (polls, downloads) on their own.
    rate_limit: str = "100/second"
    read_rate_limit: str = "1000/second"
    sign_in_rate_limit: str = "10/5minute"  # wrong keys per client address on the pages
    # Documents accepted but not yet finished, per tenant, across all its jobs.
    max_queued_documents: int = 5000
    # Long polls (?wait=) a tenant may hold open at once, across API processes: each holds an
    # API thread, so one tenant's many waits cannot take every thread from the others.
    max_long_polls: int = 8
    # Webhooks: tenant -> signing secret (the key store holds more), delivery attempts, the
    # first retry's delay (doubling after each failed attempt), and one attempt's timeout.
    webhook_secrets: Mapping[str, str] = field(default_factory=dict)
    webhook_allow_private: bool = False
    webhook_attempts: int = 8
    webhook_retry_delay: int = 2
    webhook_timeout: int = 10
    # Jobs of at most this many documents jump ahead of bulk batches.
    interactive_max_documents: int = 5
    # Documents of one job a task makes, converted together where they can be (1: one each).
    batch_size: int = 16
    # The timeout ladder: each limit must be longer than the one before it, so that the
    # innermost watchdog fires first and the outer ones only catch what it missed.
    # A render cut off after this (runaway loops); it runs before the conversion, so together
    # they must fit in the task's soft limit.
    render_timeout: int = 30
    conversion_timeout: int = 120
    converter_client_timeout: int = 135
    task_soft_time_limit: int = 180
    task_time_limit: int = 240
    # Also how long the documents of a worker that died outright wait to be re-delivered.
    broker_visibility_timeout: int = 600
    converter_recycle_after: int = 200
    converter_start_timeout: int = 90
    transient_retries: int = 5
    # A document whose deliveries died this many times (its worker crashed) is quarantined.
    max_crashes: int = 3
    # A document whose conversion timed out this many times fails (conversion_timed_out).
    max_timeouts: int = 2
    # A job whose end (bundle, finish, webhook) is still unhandled this long after its last
    # document is handed out again by the workers' sweeper: its task was lost or gave up.
    end_grace_seconds: float = 120
    # Address space, in bytes, of each worker process (the render) and of each unoserver with
    # its LibreOffice: past it an allocation fails in that process alone.
    worker_memory: int = 2 * 1024**3
    libreoffice_memory: int = 2 * 1024**3
    # The user unoserver and LibreOffice run as. None: "nobody" when the worker runs as root,
    # else the worker's own user (only root can start a process as another).
    libreoffice_user: str | None = None
    # The Python that runs unoserver: Debian's, with python3-uno (see deploy/bootstrap.sh).
    unoserver_python: str = str(PROJECT_ROOT / ".venv-uno" / "bin" / "python")
    soffice_executable: str = "soffice"

    def __post_init__(self) -> None:
        if not 1 <= self.max_long_polls <= API_THREADS // 2:
            raise SettingsError(
                f"DOCRENDER_MAX_LONG_POLLS={self.max_long_polls}: from 1 to {API_THREADS // 2}, "
                f"half the {API_THREADS} threads of an API process, so that one tenant's long "
                "polls never hold every thread another tenant's request needs"
            )
        ladder = [
            ("DOCRENDER_CONVERSION_TIMEOUT", self.conversion_timeout),
            ("DOCRENDER_CONVERTER_CLIENT_TIMEOUT", self.converter_client_timeout),
            ("DOCRENDER_TASK_SOFT_TIME_LIMIT", self.task_soft_time_limit),
            ("DOCRENDER_TASK_TIME_LIMIT", self.task_time_limit),
            ("DOCRENDER_BROKER_VISIBILITY_TIMEOUT", self.broker_visibility_timeout),
        ]
        for (inner_name, inner), (outer_name, outer) in itertools.pairwise(ladder):
            if not inner < outer:
                raise SettingsError(
                    f"{outer_name} ({outer}s) must be longer than {inner_name} ({inner}s): "
                    "each timeout has to outlast the one it guards"
                )
        if self.render_timeout + self.converter_client_timeout >= self.task_soft_time_limit:
            raise SettingsError(
                f"DOCRENDER_TASK_SOFT_TIME_LIMIT ({self.task_soft_time_limit}s) must be longer "
                f"than DOCRENDER_RENDER_TIMEOUT plus DOCRENDER_CONVERTER_CLIENT_TIMEOUT "
                f"({self.render_timeout}s + {self.converter_client_timeout}s)"
            )
        if self.libreoffice_user is not None:
            try:
                user = pwd.getpwnam(self.libreoffice_user)
            except KeyError:
                raise SettingsError(
                    f"DOCRENDER_LIBREOFFICE_USER={self.libreoffice_user!r}: no such user"
                ) from None
            if os.geteuid() != 0 and user.pw_uid != os.geteuid():
                raise SettingsError(
                    f"DOCRENDER_LIBREOFFICE_USER={self.libreoffice_user!r}: only a worker "
                    "running as root can start LibreOffice as another user"
                )
        if self.fonts_dir is not None and not self.fonts_dir.is_dir():
            raise SettingsError(f"DOCRENDER_FONTS_DIR={str(self.fonts_dir)!r}: no such directory")
        if self.storage not in ("local", "s3"):
            raise SettingsError(f"DOCRENDER_STORAGE={self.storage!r}: use local or s3")
        if self.storage == "s3" and not self.s3_bucket:
            raise SettingsError(
                "DOCRENDER_S3_BUCKET must name the bucket when DOCRENDER_STORAGE=s3"
            )
        for name, rate in (
            ("DOCRENDER_RATE_LIMIT", self.rate_limit),
            ("DOCRENDER_READ_RATE_LIMIT", self.read_rate_limit),
            ("DOCRENDER_SIGN_IN_RATE_LIMIT", self.sign_in_rate_limit),
        ):
            try:
                limits.parse(rate)
            except ValueError:
                raise SettingsError(
                    f"{name}={rate!r} is not a rate such as 100/second or 3000/minute"
                ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        def text(name: str, attr: str) -> None:
            if env.get(name):
                values[attr] = env[name]

        def number(name: str, attr: str, duration: bool = False) -> None:
            if env.get(name):
                values[attr] = (_parse_duration if duration else _parse_positive_int)(
                    name, env[name]
                )

        text("DOCRENDER_REDIS_URL", "redis_url")
        if env.get("DOCRENDER_DATA_DIR"):
            values["data_dir"] = Path(env["DOCRENDER_DATA_DIR"]).resolve()
        if env.get("DOCRENDER_FONTS_DIR"):
            values["fonts_dir"] = Path(env["DOCRENDER_FONTS_DIR"]).resolve()
        text("DOCRENDER_BIND", "bind")
        if env.get("DOCRENDER_API_KEYS"):
            values["api_keys"] = {
                key: tenant
                for tenant, key in parse_tenant_pairs(
                    "DOCRENDER_API_KEYS", env["DOCRENDER_API_KEYS"]
                )
            }
        number("DOCRENDER_RETENTION", "retention_seconds", duration=True)
        text("DOCRENDER_STORAGE", "storage")
        text("DOCRENDER_S3_BUCKET", "s3_bucket")
        text("DOCRENDER_S3_ENDPOINT_URL", "s3_endpoint_url")
        text("DOCRENDER_S3_PREFIX", "s3_prefix")
        if env.get("DOCRENDER_S3_PRESIGN"):
            values["s3_presign"] = _parse_flag("DOCRENDER_S3_PRESIGN", env["DOCRENDER_S3_PRESIGN"])
        number("DOCRENDER_WORKERS", "workers")
        number("DOCRENDER_API_PROCESSES", "api_processes")
        number("DOCRENDER_MAX_TEMPLATE_BYTES", "max_template_bytes")
        number("DOCRENDER_MAX_REQUEST_BYTES", "max_request_bytes")
        number("DOCRENDER_MAX_DOCUMENTS_PER_JOB", "max_documents_per_job")
        number("DOCRENDER_MAX_QUEUED_DOCUMENTS", "max_queued_documents")
        number("DOCRENDER_MAX_LONG_POLLS", "max_long_polls")
        number("DOCRENDER_MAX_IMAGE_BYTES", "max_image_bytes")
        number("DOCRENDER_MAX_DOCUMENT_BYTES", "max_document_bytes")
        number("DOCRENDER_TENANT_STORAGE", "tenant_storage_bytes")
        number("DOCRENDER_REDIS_MAX_MEMORY", "redis_max_memory")
        number("DOCRENDER_MAX_IMAGE_PIXELS", "max_image_pixels")
        if env.get("DOCRENDER_WEBHOOK_SECRETS"):
            values["webhook_secrets"] = dict(
                parse_tenant_pairs("DOCRENDER_WEBHOOK_SECRETS", env["DOCRENDER_WEBHOOK_SECRETS"])
            )
        if env.get("DOCRENDER_WEBHOOK_ALLOW_PRIVATE"):
            values["webhook_allow_private"] = _parse_flag(
                "DOCRENDER_WEBHOOK_ALLOW_PRIVATE", env["DOCRENDER_WEBHOOK_ALLOW_PRIVATE"]
            )
        number("DOCRENDER_WEBHOOK_ATTEMPTS", "webhook_attempts")
        number("DOCRENDER_WEBHOOK_RETRY_DELAY", "webhook_retry_delay", duration=True)
        number("DOCRENDER_WEBHOOK_TIMEOUT", "webhook_timeout", duration=True)
        text("DOCRENDER_RATE_LIMIT", "rate_limit")
        text("DOCRENDER_READ_RATE_LIMIT", "read_rate_limit")
        text("DOCRENDER_SIGN_IN_RATE_LIMIT", "sign_in_rate_limit")
        number("DOCRENDER_INTERACTIVE_MAX_DOCUMENTS", "interactive_max_documents")
        number("DOCRENDER_BATCH_SIZE", "batch_size")
        number("DOCRENDER_RENDER_TIMEOUT", "render_timeout", duration=True)
        number("DOCRENDER_CONVERSION_TIMEOUT", "conversion_timeout", duration=True)
        number("DOCRENDER_CONVERTER_CLIENT_TIMEOUT", "converter_client_timeout", duration=True)
        number("DOCRENDER_TASK_SOFT_TIME_LIMIT", "task_soft_time_limit", duration=True)
        number("DOCRENDER_TASK_TIME_LIMIT", "task_time_limit", duration=True)
        number("DOCRENDER_BROKER_VISIBILITY_TIMEOUT", "broker_visibility_timeout", duration=True)
        number("DOCRENDER_CONVERTER_RECYCLE_AFTER", "converter_recycle_after")
        number("DOCRENDER_CONVERTER_START_TIMEOUT", "converter_start_timeout", duration=True)
        number("DOCRENDER_TRANSIENT_RETRIES", "transient_retries")
        number("DOCRENDER_MAX_CRASHES", "max_crashes")
        number("DOCRENDER_MAX_TIMEOUTS", "max_timeouts")
        number("DOCRENDER_END_GRACE", "end_grace_seconds", duration=True)
        number("DOCRENDER_WORKER_MEMORY", "worker_memory")
        number("DOCRENDER_LIBREOFFICE_MEMORY", "libreoffice_memory")
        text("DOCRENDER_LIBREOFFICE_USER", "libreoffice_user")
        text("DOCRENDER_SECRET_KEY", "secret_key")
        text("DOCRENDER_METRICS_TOKEN", "metrics_token")
        text("DOCRENDER_METRICS_BIND", "metrics_bind")
        text("DOCRENDER_UNOSERVER_PYTHON", "unoserver_python")
        text("DOCRENDER_SOFFICE", "soffice_executable")
        return cls(**values)  # type: ignore[arg-type]

    def libreoffice_account(self) -> tuple[int, int] | None:
        """(uid, gid) to run LibreOffice as, or None for the worker's own user."""
        name = self.libreoffice_user
        if name is None:
            if os.geteuid() != 0:
                return None
            name = "nobody"
        user = pwd.getpwnam(name)
        return None if user.pw_uid == os.geteuid() else (user.pw_uid, user.pw_gid)

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise SettingsError(
                "DOCRENDER_REDIS_URL is not set (make run starts a private Redis and sets it)"
            )
        return self.redis_url


@dataclass(frozen=True)
class ClientSettings:
    """What the ``docrender`` command reads: where the service is, the key to call it with,
    and where `make run` keeps its files (its private Redis's URL, its development key)."""

    server: str
    api_key: str | None
    data_dir: Path
    redis_url: str | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientSettings:
        env = os.environ if environ is None else environ
        data_dir = env.get("DOCRENDER_DATA_DIR")
        return cls(
            server=env.get("DOCRENDER_SERVER")
            or f"http://{env.get('DOCRENDER_BIND') or Settings.bind}",
            api_key=env.get("DOCRENDER_API_KEY") or None,
            data_dir=Path(data_dir).resolve() if data_dir else Settings.data_dir,
            redis_url=env.get("DOCRENDER_REDIS_URL") or None,
        )


def parse_tenant_pairs(name: str, raw: str) -> list[tuple[str, str]]:
    """Parse ``tenant1:value1,tenant2:value2`` (API keys, webhook secrets) into
    [(tenant, value), ...]."""
    pairs: list[tuple[str, str]] = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        tenant, sep, value = entry.partition(":")
        if not sep or not tenant.strip() or not value.strip():
            raise SettingsError(f"{name}: {entry!r} is not of the form tenant:value")
        if not TENANT_NAME.fullmatch(tenant.strip()):
            raise SettingsError(
                f"{name}: tenant {tenant!r} may only use letters, digits, '_', '.', '-'"
            )
        pairs.append((tenant.strip(), value.strip()))
    return pairs


# The words a yes/no setting or form field may be written with.
BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse_flag(name: str, raw: str) -> bool:
    flag = BOOLEAN_WORDS.get(raw.strip().lower())
    if flag is None:
        raise SettingsError(f"{name}={raw!r}: use 1 or 0")
    return flag


def _parse_positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be greater than zero")
    return value


def _parse_duration(name: str, raw: str) -> int:
    match = _DURATION.match(raw)
    if not match or int(match.group(1)) <= 0:
        raise SettingsError(f"{name}={raw!r} is not a duration such as 90, 90s, 15m, 12h or 7d")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]
