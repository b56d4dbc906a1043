"""The scrape's merge of the processes' metric files survives a file still empty: one a process
is creating at that moment, or left so by a process killed in that moment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from docrender.monitoring import metrics

_COUNT_ONE_JOB = "from docrender.monitoring import metrics; metrics.JOBS.labels('succeeded').inc()"


class NoQueues:
    def llen(self, queue: str) -> int:
        return 0


def test_an_empty_metrics_file_loses_no_other_processes_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", _COUNT_ONE_JOB], env=environment, check=True)
    (tmp_path / "counter_4194303.db").touch()  # a process killed while creating its file
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = metrics.exposition(NoQueues()).decode()  # type: ignore[arg-type]
    assert 'docrender_jobs_total{status="succeeded"} 1.0' in text
