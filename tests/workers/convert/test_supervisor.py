"""The supervisor over a stand-in process: why each replacement happened is reported."""

from __future__ import annotations

import pytest

from docrender.errors import ConverterUnavailable
from docrender.i18n import _
from workers.convert.supervisor import ProcessBroken, Supervisor


class StandIn:
    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    def alive(self) -> bool:
        return self.running

    def start(self) -> None:
        self.running, self.starts = True, self.starts + 1

    def stop(self, graceful: bool = True) -> None:
        self.running = False


def broken(hung: bool) -> None:
    raise ProcessBroken("it broke", ConverterUnavailable(_("retry")), hung=hung)


def test_each_restart_says_why() -> None:
    reasons: list[str] = []
    process = StandIn()
    supervisor = Supervisor(process, recycle_after=2, on_restart=reasons.append)
    supervisor.run(lambda p: None)  # the first start is no restart
    with pytest.raises(ConverterUnavailable):
        supervisor.run(lambda p: broken(hung=True))
    supervisor.run(lambda p: None)
    with pytest.raises(ConverterUnavailable):
        supervisor.run(lambda p: broken(hung=False))
    supervisor.run(lambda p: None)
    process.running = False  # it died between tasks
    supervisor.run(lambda p: None)
    supervisor.run(lambda p: None)  # the second task on this instance...
    supervisor.run(lambda p: None)  # ...so this one runs on a recycled one
    assert reasons == ["hang", "crash", "crash", "recycle"]
    assert process.starts == 5


def failing(process: StandIn) -> None:
    raise ValueError("LibreOffice could not read it")


def test_a_last_task_leaves_no_process_behind_for_the_next() -> None:
    """A document that brings something into LibreOffice (its embedded fonts) is converted as
    the last task of its instance: stopped right after, even when the task failed."""
    process = StandIn()
    supervisor = Supervisor(process, recycle_after=100)
    supervisor.run(lambda p: None)
    supervisor.run(lambda p: None, last=True)
    assert not process.running
    supervisor.run(lambda p: None)
    assert process.starts == 2  # the next task had a new instance
    with pytest.raises(ValueError):
        supervisor.run(failing, last=True)
    assert not process.running
