"""Stand-ins for services a test wants to fail, each declared as the Protocol it stands in
for, so mypy fails the tests when it falls behind the real service."""

from __future__ import annotations

from collections.abc import Sequence

import kombu.exceptions

from docrender.jobs.queue import JobQueue


class RefusingQueue(JobQueue):
    """A broker that is down: every send fails as kombu reports it."""

    def enqueue(self, job_id: str, indexes: Sequence[int], urgent: bool = False) -> None:
        raise kombu.exceptions.OperationalError("Error 111 connecting to broker")

    def job_ended(self, job_id: str) -> None:
        raise kombu.exceptions.OperationalError("Error 111 connecting to broker")

    def deliver_callback(self, job_id: str, delivery_id: str, countdown: float = 0) -> None:
        raise kombu.exceptions.OperationalError("Error 111 connecting to broker")


class HeldQueue(JobQueue):
    """Keeps the tasks instead of sending them: the documents stay queued, whatever workers
    run meanwhile (an end-to-end test's, on the same broker), so what a test counts is exact."""

    def enqueue(self, job_id: str, indexes: Sequence[int], urgent: bool = False) -> None:
        pass

    def job_ended(self, job_id: str) -> None:
        pass

    def deliver_callback(self, job_id: str, delivery_id: str, countdown: float = 0) -> None:
        pass
