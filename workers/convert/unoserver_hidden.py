"""unoserver, with its documents loaded hidden and its two control channels closed to other
local processes.

- Hidden loading: unoserver loads each document into a (headless) frame without the Hidden
  load property, and LibreOffice then does view work nobody sees. Loading hidden measured
  about a third less LibreOffice CPU per document, with the same PDFs
  (bench/converter_tuning.py).
- Neither channel has authentication of its own: any local process could make LibreOffice
  load and convert any file this user can read, or drive it through UNO. So LibreOffice accepts
  UNO on a named pipe (``DOCRENDER_UNO_PIPE``: a unix socket only its owner may connect to)
  instead of a loopback port, and the XML-RPC server answers only at the path
  ``DOCRENDER_RPC_SECRET`` (a random per-instance secret, passed in the environment, not on
  the command line where every user could read it): anything else is a 404.

unoserver stays the process that owns LibreOffice; this wraps its desktop's
loadComponentFromURL, the connection its converter and comparer resolve, the --accept it starts
LibreOffice with, and the paths its XML-RPC server answers. Written against the pinned unoserver
3.7.

Run with .venv-uno's Python (it needs ``uno``), with unoserver's own arguments:
    .venv-uno/bin/python workers/convert/unoserver_hidden.py --port 2003 ...
It imports nothing from docrender, whose packages are not in that environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xmlrpc.server
from typing import Any

import uno
from com.sun.star.beans import PropertyValue
from unoserver import comparer, converter, server

PIPE = os.environ.pop("DOCRENDER_UNO_PIPE", "")
SECRET = os.environ.pop("DOCRENDER_RPC_SECRET", "")
UNO_URL = f"pipe,name={PIPE};urp;StarOffice.ComponentContext"


class _HiddenLoadingDesktop:
    def __init__(self, desktop: Any) -> None:
        self._desktop = desktop

    def loadComponentFromURL(self, url: str, frame: str, flags: int, properties: Any) -> Any:
        hidden = PropertyValue(Name="Hidden", Value=True)
        return self._desktop.loadComponentFromURL(url, frame, flags, (*properties, hidden))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._desktop, name)


def _connect(component: Any, hidden: bool) -> None:
    """What unoserver 3.7's converter and comparer set up in __init__, connected through the
    pipe instead of the socket."""
    component.local_context = uno.getComponentContext()
    component.resolver = component.local_context.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", component.local_context
    )
    component.context = component.resolver.resolve(f"uno:{UNO_URL}")
    component.service = component.context.ServiceManager
    desktop = component.service.createInstanceWithContext(
        "com.sun.star.frame.Desktop", component.context
    )
    component.desktop = _HiddenLoadingDesktop(desktop) if hidden else desktop
    component.filter_service = component.service.createInstanceWithContext(
        "com.sun.star.document.FilterFactory", component.context
    )
    component.type_service = component.service.createInstanceWithContext(
        "com.sun.star.document.TypeDetection", component.context
    )


class PipeConnectedConverter(converter.UnoConverter):  # type: ignore[misc]
    """unoserver's converter, connected through the pipe, loading documents hidden."""

    def __init__(self, interface: str = "", port: str = "", temp_dir: Any = None) -> None:
        _connect(self, hidden=True)
        self.temp_dir = temp_dir
        self._export_filters = None
        self._import_filters = None


class PipeConnectedComparer(comparer.UnoComparer):  # type: ignore[misc]
    """unoserver's comparer (unused by docrender, started by unoserver), through the pipe."""

    def __init__(self, interface: str = "", port: str = "") -> None:
        _connect(self, hidden=False)


class _PipeAcceptingSubprocess:
    """unoserver.server's subprocess module, whose Popen starts LibreOffice accepting UNO on
    the pipe instead of the port unoserver names."""

    def Popen(self, command: list[str], *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        command = [f"--accept={UNO_URL}" if arg.startswith("--accept=") else arg for arg in command]
        return subprocess.Popen(command, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)


if __name__ == "__main__":
    if not PIPE or not SECRET:
        sys.exit("DOCRENDER_UNO_PIPE and DOCRENDER_RPC_SECRET must be set")
    # unoserver's server builds its converter as converter.UnoConverter(...) when it starts.
    converter.UnoConverter = PipeConnectedConverter
    comparer.UnoComparer = PipeConnectedComparer
    server.subprocess = _PipeAcceptingSubprocess()
    xmlrpc.server.SimpleXMLRPCRequestHandler.rpc_paths = (f"/{SECRET}",)
    sys.exit(server.main())
