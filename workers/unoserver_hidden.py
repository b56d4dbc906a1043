"""unoserver, with one change: documents are loaded with ``Hidden=True``.

unoserver loads each document into a (headless) frame without the Hidden load property, and
LibreOffice then does view work nobody sees. Loading hidden measured about a third less
LibreOffice CPU per document, with the same PDFs (bench/converter_tuning.py). unoserver stays
the process that owns LibreOffice; this only wraps its desktop's loadComponentFromURL.

Run with .venv-uno's Python (it needs ``uno``), with unoserver's own arguments:
    .venv-uno/bin/python workers/unoserver_hidden.py --port 2003 --uno-port 2002 ...
It imports nothing from docrender, whose packages are not in that environment.
"""

from __future__ import annotations

import sys
from typing import Any

import uno  # noqa: F401  (loads the UNO bridge that com.sun.star imports need)
from com.sun.star.beans import PropertyValue
from unoserver import converter, server


class _HiddenLoadingDesktop:
    def __init__(self, desktop: Any) -> None:
        self._desktop = desktop

    def loadComponentFromURL(self, url: str, frame: str, flags: int, properties: Any) -> Any:
        hidden = PropertyValue(Name="Hidden", Value=True)
        return self._desktop.loadComponentFromURL(url, frame, flags, (*properties, hidden))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._desktop, name)


class HiddenLoadingConverter(converter.UnoConverter):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.desktop = _HiddenLoadingDesktop(self.desktop)


# unoserver's server builds its converter as converter.UnoConverter(...) when it starts.
converter.UnoConverter = HiddenLoadingConverter

if __name__ == "__main__":
    sys.exit(server.main())
