"""The tests. Before anything is imported: prometheus_client chooses its multiprocess mode
when first imported, so this process, the worker processes the tests start (they inherit the
environment) and /metrics share one directory, as make run's do. A process a test starts that
imports the tests again (a stand-in worker) uses the same directory rather than leaving one of
its own behind when it is killed."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_PREFIX = "docrender-test-metrics-"

if not Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")).name.startswith(_PREFIX):
    _METRICS_DIR = tempfile.mkdtemp(prefix=_PREFIX)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _METRICS_DIR
    atexit.register(shutil.rmtree, _METRICS_DIR, ignore_errors=True)
