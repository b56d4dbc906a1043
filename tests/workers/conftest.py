"""Shared by the worker tests: a LibreOffice of their own, through unoserver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.processes import processes_using, unoserver_config
from workers.convert.converter import UnoserverConverter
from workers.convert.libreoffice import UnoserverProcess
from workers.convert.supervisor import Supervisor


@pytest.fixture(scope="module")
def converter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnoserverConverter]:
    work = tmp_path_factory.mktemp("converter")
    instance = UnoserverProcess(unoserver_config(work, conversion_timeout=60))
    converter = UnoserverConverter(Supervisor(instance, recycle_after=1000), 90)
    yield converter
    converter.stop()
    assert not processes_using(work), "LibreOffice or unoserver left running"
