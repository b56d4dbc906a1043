"""The tests. Before anything is imported: prometheus_client chooses its multiprocess mode
when first imported, so this process, the worker processes the tests start (they inherit the
environment) and /metrics share one directory, as make run's do."""

import atexit
import os
import shutil
import tempfile

_METRICS_DIR = tempfile.mkdtemp(prefix="docrender-test-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _METRICS_DIR
atexit.register(shutil.rmtree, _METRICS_DIR, ignore_errors=True)
