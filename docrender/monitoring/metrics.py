"""What an operator watches, in Prometheus' text format at ``GET /metrics``.

prometheus_client in its multiprocess mode: every process that counts (gunicorn's workers, the
Celery pool's children) writes its values to files in ``PROMETHEUS_MULTIPROC_DIR``, and the API
adds them up when scraped, so the numbers are the host's, not one process's. ``make run`` sets
the directory under the data dir and empties it at start. Without it (one process), the values
are in memory. The queue depth is read from Redis at each scrape, so it is the whole
service's, whichever host answers. A worker host without an API serves the same page itself
(``DOCRENDER_METRICS_BIND``, ``serve``), behind the same token.

Counted where each thing happens: final job and document states where they are recorded,
render and conversion times in the render task, LibreOffice restarts in the supervisor, webhook
attempts in the delivery task, 429 and 413 answers in the API's error handler.
"""

from __future__ import annotations

import glob
import hmac
import os
import threading
import wsgiref.simple_server
from typing import Any

import redis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from docrender.jobs.queue import BULK_QUEUE, CALLBACK_QUEUE, INTERACTIVE_QUEUE

JOBS = Counter("docrender_jobs", "Jobs finished, by final status", ["status"])
DOCUMENTS = Counter("docrender_documents", "Documents in a final state", ["status"])
RENDER_SECONDS = Histogram(
    "docrender_render_seconds",
    "Filling a template with one document's data",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONVERSION_SECONDS = Histogram(
    "docrender_conversion_seconds",
    "One LibreOffice conversion (of one or several documents)",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
CONVERTED_TOGETHER = Counter(
    "docrender_documents_converted_together",
    "Documents cut from a LibreOffice conversion they shared with others of their job",
)
LIBREOFFICE_RESTARTS = Counter(
    "docrender_libreoffice_restarts", "LibreOffice instances replaced, by reason", ["reason"]
)
# 1 for each LibreOffice version this host's workers convert with ("max": one series a version).
LIBREOFFICE_VERSION = Gauge(
    "docrender_libreoffice_info",
    "The LibreOffice version the workers convert with",
    ["version"],
    multiprocess_mode="max",
)
WEBHOOK_DELIVERIES = Counter(
    "docrender_webhook_deliveries", "Webhook attempts, by outcome", ["outcome"]
)
REJECTIONS = Counter("docrender_rejections", "Requests refused for a limit, by code", ["reason"])
QUEUES = (INTERACTIVE_QUEUE, BULK_QUEUE, CALLBACK_QUEUE)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class _QueueDepth:
    """Messages waiting in each Celery queue, read from the broker at scrape time."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> list[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "docrender_queue_depth", "Messages waiting, by queue", labels=["queue"]
        )
        for queue in QUEUES:
            gauge.add_metric([queue], float(self.client.llen(queue)))
        return [gauge]


class _WrittenFiles:
    """prometheus_client's merge of the processes' metric files, over the files that hold
    something. A process creates its file empty and sizes it a moment later; a scrape in that
    moment, or after the process was killed in it, cannot read the empty file and lost every
    other process's values with it (a 500; prometheus/client_python#1199, unfixed in the
    pinned release)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def collect(self) -> Any:
        files = [
            path
            for path in glob.glob(os.path.join(self.directory, "*.db"))
            if os.path.getsize(path) > 0
        ]
        return MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]


def exposition(client: redis.Redis) -> bytes:
    """The text a scrape gets: this host's processes' counters, and the queues' depth."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        counted = CollectorRegistry()
        counted.register(_WrittenFiles(directory))
    else:
        counted = REGISTRY  # one process: its own values
    queues = CollectorRegistry()
    queues.register(_QueueDepth(client))
    return generate_latest(counted) + generate_latest(queues)


def serve(bind: str, token: str, client: redis.Redis) -> None:
    """Serve ``/metrics`` on ``bind`` (host:port) from a daemon thread, for a scraper sending
    ``token`` as a Bearer token: a worker host's own processes, where no API runs."""
    expected = f"Bearer {token}".encode()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        presented = environ.get("HTTP_AUTHORIZATION", "").encode()
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not hmac.compare_digest(presented, expected):
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"send DOCRENDER_METRICS_TOKEN as a Bearer token\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
        return [exposition(client)]

    host, _, port = bind.rpartition(":")
    server = wsgiref.simple_server.make_server(
        host or "0.0.0.0", int(port), app, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass
