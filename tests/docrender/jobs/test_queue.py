"""How a job's documents are handed to the workers: groups that keep every converter busy
to the job's end."""

from __future__ import annotations

import dataclasses

import pytest

from docrender.jobs.queue import DocumentQueue
from docrender.settings import Settings


@pytest.mark.parametrize(
    "count, converters, sizes",
    [
        (100, 2, [16, 16, 16, 16, 16, 16, 2, 2]),  # not 16 x 6 and 4 alone at the end
        (50, 2, [16, 16, 9, 9]),
        (40, 4, [10, 10, 10, 10]),
        (5, 2, [3, 2]),
        (1, 2, [1]),
        (64, 2, [16, 16, 16, 16]),
        (70, 3, [16, 16, 16, 8, 7, 7]),
    ],
)
def test_a_jobs_last_groups_are_shared_by_the_converters(
    settings: Settings, count: int, converters: int, sizes: list[int]
) -> None:
    queue = DocumentQueue(None, dataclasses.replace(settings, batch_size=16, workers=converters))
    groups = queue.groups(list(range(count)))
    assert [len(group) for group in groups] == sizes
    assert [index for group in groups for index in group] == list(range(count))
