"""Outline items (bookmarks) carried from one PDF into another that took some of its pages:
a document cut from a combined conversion (workers/convert/batching.py), a document in a job's
merged volume (workers/pdf/bundle.py)."""

from __future__ import annotations

import pikepdf


class Outline:
    """A PDF's outline, read once, handed out by page range."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self._page_index = {page.obj.objgen: index for index, page in enumerate(pdf.pages)}
        # Read only: pdf.open_outline() would write the whole outline back when it closes.
        # The top-level items by the page they point at, with their place in the outline: a
        # document of a combined conversion looks at its own pages' items only.
        self._on_page: dict[int, list[tuple[int, pikepdf.OutlineItem]]] = {}
        for place, item in enumerate(pikepdf.Outline(pdf).root):
            page = self._page_of(item)
            if page is not None:
                self._on_page.setdefault(page, []).append((place, item))

    def copied(self, pages: range, target: pikepdf.Pdf, at: int) -> list[pikepdf.OutlineItem]:
        """The items pointing into ``pages``, with their children, pointing at the same places
        in ``target``, whose page ``at`` is the first of ``pages``. Items pointing elsewhere
        (and any but explicit destinations, which LibreOffice does not write) are left out."""
        found = sorted(
            (entry for page in pages for entry in self._on_page.get(page, ())),
            key=lambda entry: entry[0],
        )
        return [copy for _, item in found if (copy := self._copy(item, pages, target, at))]

    def _page_of(self, item: pikepdf.OutlineItem) -> int | None:
        destination = item.destination
        if not isinstance(destination, pikepdf.Array) or len(destination) == 0:
            return None
        return self._page_index.get(destination[0].objgen)

    def _copy(
        self, item: pikepdf.OutlineItem, pages: range, target: pikepdf.Pdf, at: int
    ) -> pikepdf.OutlineItem | None:
        page = self._page_of(item)
        destination = item.destination
        if page is None or page not in pages or not isinstance(destination, pikepdf.Array):
            return None
        page_there = target.pages[at + page - pages.start].obj
        copy = pikepdf.OutlineItem(item.title, pikepdf.Array([page_there, *destination[1:]]))
        copy.is_closed = item.is_closed
        for child in item.children:
            if (child_copy := self._copy(child, pages, target, at)) is not None:
                copy.children.append(child_copy)
        return copy
