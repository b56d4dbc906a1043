"""Times as docrender records them: UTC, to the millisecond, in ISO 8601 with a Z."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
