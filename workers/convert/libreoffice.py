"""One unoserver + LibreOffice pair: start it, tell whether it lives, stop it. Nothing more.

When to restart or recycle it is the supervisor's business (workers/convert/supervisor.py),
converting is the converter's (workers/convert/converter.py). Each instance gets its own profile
directory and port, so several can run side by side; a minimal environment, so LibreOffice never
sees the service's secrets; a memory limit (RLIMIT_AS), so a runaway document costs its own instance
and never makes the kernel pick Redis; and control channels no other local process can use
(workers/convert/unoserver_hidden.py): UNO on a named pipe only its owner may connect to, XML-RPC
only at a per-instance secret path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import psutil

from docrender.errors import ConverterUnavailable
from docrender.fonts.substitutes import fontconfig_rules
from docrender.i18n import _
from docrender.processes import free_port, poll_until

log = logging.getLogger(__name__)

# Written into every fresh profile: no macros ever run, links in documents are never updated
# (no file or URL is fetched when a document loads), and links from documents that are not in
# a trusted location are blocked.
HARDENED_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

# unoserver's XML-RPC API version this client speaks (unoserver 3.x). Checked at start,
# the way unoserver's own client does, so a mismatched server is refused with a clear error.
UNOSERVER_API_VERSION = "3"
HIDDEN_LOADING_UNOSERVER = Path(__file__).with_name("unoserver_hidden.py")
_PROFILE_OWNER = re.compile(r"^lo-profile-(\d+)-")
_PIPES_FILE = "pipes"  # in a profile: the pipes its LibreOffice makes in /tmp
_VERSION = re.compile(r"LibreOffice (\d+(?:\.\d+)+)")


def libreoffice_version(soffice_executable: str) -> str:
    """The LibreOffice that converts, as ``soffice --version`` says it ("25.2.3.2"; 0.2 s, no
    profile written); "unknown" when it cannot tell."""
    with tempfile.TemporaryDirectory(prefix="lo-version-") as profile:
        try:
            said = subprocess.run(
                [
                    soffice_executable,
                    f"-env:UserInstallation={Path(profile).as_uri()}",
                    "--headless",
                    "--version",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": profile},
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return "unknown"
    found = _VERSION.search(said)
    return found[1] if found else "unknown"


@dataclass(frozen=True)
class UnoserverConfig:
    unoserver_python: str  # a Python with uno and unoserver (.venv-uno)
    soffice_executable: str
    conversion_timeout: int
    start_timeout: int
    work_dir: Path
    log_file: Path
    # What that Python runs: unoserver loading documents hidden (the bench compares others).
    entry_script: Path = HIDDEN_LOADING_UNOSERVER
    # Address space of unoserver and its LibreOffice, in bytes (None: no limit).
    memory_limit: int | None = None
    # (uid, gid) they run as (None: this process's own). Their profiles then live in a
    # directory of /tmp that user can reach (see profiles_dir).
    run_as: tuple[int, int] | None = None
    # The deployment's own fonts (DOCRENDER_FONTS_DIR), used before any substitute.
    fonts_dir: Path | None = None

    @property
    def profiles_dir(self) -> Path:
        """Where instance profiles are made: ``work_dir``, or for another user a private
        directory of this one's in /tmp that the other can traverse but not list."""
        if self.run_as is None:
            return self.work_dir
        return Path(tempfile.gettempdir()) / f"docrender-libreoffice-{os.geteuid()}"


class UnoserverProcess:
    def __init__(self, config: UnoserverConfig) -> None:
        self.config = config
        self._process: subprocess.Popen[bytes] | None = None
        self._family: list[psutil.Process] = []
        self._sockets: list[str] = []  # LibreOffice's pipes in /tmp, left behind when killed
        self._profile: Path | None = None
        self.port: int | None = None
        self._secret = ""  # the XML-RPC path, new for each start
        self._pipe = ""  # the UNO pipe's name, new for each start

    @property
    def url(self) -> str:
        """The XML-RPC endpoint, secret path included: other paths answer 404."""
        return f"http://127.0.0.1:{self.port}/{self._secret}"

    @property
    def scratch_dir(self) -> Path:
        """Where documents are handed to this instance and its output picked up: inside its
        profile, so whatever a crash leaves there goes with the profile."""
        if self._profile is None:
            raise ConverterUnavailable(_("unoserver is not running"))
        return self._profile / "scratch"

    def alive(self) -> bool:
        """True while unoserver *and* its LibreOffice processes all run. (unoserver itself
        lingers for a moment after LibreOffice dies, so checking it alone would lie.)"""
        if self._process is None or self._process.poll() is not None:
            return False
        return all(_running(process) for process in self._family)

    def start(self) -> None:
        """Start unoserver and return once it answered a real XML-RPC round trip."""
        self.config.work_dir.mkdir(parents=True, exist_ok=True)
        self.config.log_file.parent.mkdir(parents=True, exist_ok=True)
        profiles = _private_dir(
            self.config.profiles_dir, traversable=self.config.run_as is not None
        )
        remove_stale_profiles(profiles, self.config.run_as)
        # The owner's pid in the name lets a later process tell a dead owner's profile.
        self._profile = Path(tempfile.mkdtemp(prefix=f"lo-profile-{os.getpid()}-", dir=profiles))
        (self._profile / "user").mkdir()
        (self._profile / "user" / "registrymodifications.xcu").write_text(HARDENED_SETTINGS)
        (self._profile / "scratch").mkdir()
        # Chinese document fonts -> installed faces of the same style
        # (docrender/fonts/substitutes.py).
        (self._profile / "fonts.conf").write_text(fontconfig_rules(self.config.fonts_dir))
        if self.config.run_as is not None:  # the profile is LibreOffice's own
            for path in [self._profile, *self._profile.rglob("*")]:
                os.chown(path, *self.config.run_as)
        # uno_port is for stock unoserver only (the bench compares it): ours accepts on the pipe.
        self.port, uno_port = free_port(), free_port()
        self._secret, self._pipe = secrets.token_urlsafe(24), f"docrender-{secrets.token_hex(16)}"
        # Where its pipes will be, for whoever removes this profile after a SIGKILL.
        (self._profile / _PIPES_FILE).write_text("\n".join(self._pipe_paths()))
        environment = _minimal_environment(self._profile) | {
            "DOCRENDER_UNO_PIPE": self._pipe,
            "DOCRENDER_RPC_SECRET": self._secret,
        }
        # util-linux's prlimit and setpriv set the memory limit and the parent-death signal
        # in the child and exec the next: no Python runs between fork and exec (preexec_fn is
        # unsafe in a process with threads). setpriv runs after subprocess changed the user,
        # which would clear the signal. If this worker process dies (even by SIGKILL), the
        # kernel sends unoserver SIGTERM, and it takes its LibreOffice down with it. The
        # signal follows the *thread* that started the child, so instances are started only
        # from threads that live as long as the process.
        limit = (
            []
            if self.config.memory_limit is None
            else ["prlimit", f"--as={self.config.memory_limit}", "--"]
        )
        command = [
            "setpriv",
            "--pdeathsig",
            "TERM",
            "--",
            *limit,
            self.config.unoserver_python,
            str(self.config.entry_script),
            "--interface",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--uno-interface",
            "127.0.0.1",
            "--uno-port",
            str(uno_port),
            "--user-installation",
            str(self._profile),
            "--conversion-timeout",
            str(self.config.conversion_timeout),
            "--executable",
            self.config.soffice_executable,
        ]
        with self.config.log_file.open("ab") as log_file:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                env=environment,
                user=self.config.run_as[0] if self.config.run_as else None,
                group=self.config.run_as[1] if self.config.run_as else None,
                extra_groups=[] if self.config.run_as else None,
            )
        log.info("unoserver starting (pid %s, port %s)", self._process.pid, self.port)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self._family = _process_tree(self._process.pid)
        self._sockets = _listening_sockets(self._family)

    def _wait_until_ready(self) -> None:
        # Poll a real round trip instead of sleeping a fixed time: unoserver answers info()
        # only once LibreOffice accepted its UNO connection.
        def info() -> dict[str, str] | None:
            if not self.alive():
                raise ConverterUnavailable(
                    _(
                        "unoserver exited during start-up (see %(log_file)s)",
                        log_file=self.config.log_file,
                    ),
                )
            try:
                proxy = xmlrpc.client.ServerProxy(self.url, transport=_Transport(2))
                return cast("dict[str, str]", proxy.info())
            except (OSError, xmlrpc.client.Error):
                return None

        answer = poll_until(info, self.config.start_timeout, interval=0.25)
        if answer is None:
            raise ConverterUnavailable(
                _(
                    "unoserver did not answer within %(start_timeout)ss of starting",
                    start_timeout=self.config.start_timeout,
                ),
            )
        if answer.get("api") != UNOSERVER_API_VERSION:
            raise RuntimeError(
                f"unoserver {answer.get('unoserver')} speaks API {answer.get('api')}, "
                f"docrender needs API {UNOSERVER_API_VERSION}: install the pinned version"
            )

    def _pipe_paths(self) -> list[str]:
        """Where LibreOffice makes its pipes: the UNO pipe (its name is ours) and the
        single-instance pipe (named after the profile)."""
        owner = self.config.run_as[0] if self.config.run_as else os.geteuid()
        paths = []
        if self._pipe:
            paths.append(f"/tmp/OSL_PIPE_{owner}_{self._pipe}")
        if self._profile is not None:
            paths.append(f"/tmp/OSL_PIPE_{owner}_SingleOfficeIPC_{_profile_hash(self._profile)}")
        return paths

    def _remove_pipes(self) -> None:
        """A killed LibreOffice leaves its pipes in /tmp: those it makes, and those it was
        seen listening on."""
        _remove_pipes_as(sorted({*self._sockets, *self._pipe_paths()}), self.config.run_as)
        self._sockets = []

    def stop(self, graceful: bool = True) -> None:
        """Stop unoserver and its LibreOffice; nothing of them is left running. Not
        ``graceful`` for an instance that hangs: a stopped or stuck LibreOffice would only
        spend the grace period ignoring SIGTERM, time the task may not have."""
        process, self._process = self._process, None
        if process is not None:
            family = list({p.pid: p for p in self._family + _process_tree(process.pid)}.values())
            # SIGTERM to LibreOffice and unoserver together: LibreOffice exits cleanly, and
            # unoserver's own shutdown can block while a request is in flight.
            _signal_all(family, signal.SIGTERM if graceful else signal.SIGKILL)
            _, alive = psutil.wait_procs(family, timeout=5 if graceful else 0)
            _signal_all(alive, signal.SIGKILL)
            psutil.wait_procs(alive, timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)  # reap it
        self._family = []
        self._remove_pipes()
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None


def _profile_hash(profile: Path) -> str:
    """The name LibreOffice gives its single-instance pipe for a profile: the MD5 of the
    profile's URL in UTF-16, each byte in hex without padding (desktop/source/app/
    officeipcthread.cxx, CreateMD5FromString)."""
    digest = hashlib.md5(profile.as_uri().encode("utf-16-le"), usedforsecurity=False).digest()
    return "".join(format(byte, "x") for byte in digest)


def _remove_pipes_as(paths: list[str], run_as: tuple[int, int] | None) -> None:
    """Delete pipe sockets in /tmp: as their owner, since /tmp's sticky bit lets only the
    owner (or a root with CAP_FOWNER, which containers often drop) remove a file there."""
    if not paths:
        return
    if run_as is None:
        for path in paths:
            Path(path).unlink(missing_ok=True)
        return
    subprocess.run(
        ["rm", "-f", "--", *paths],
        user=run_as[0],
        group=run_as[1],
        extra_groups=[],
        capture_output=True,
        timeout=10,
        check=False,
    )


def _private_dir(path: Path, traversable: bool) -> Path:
    """``path``, made if missing, owned by this user and writable by no one else; for
    another user's LibreOffice also traversable (0711), never listable. A directory of the
    same name made by someone else (in /tmp, say) is refused, not used."""
    path.mkdir(parents=True, exist_ok=True, mode=0o711 if traversable else 0o755)
    info = path.lstat()
    if info.st_uid != os.geteuid() or not stat.S_ISDIR(info.st_mode):
        raise RuntimeError(f"{path} belongs to another user or is not a directory; remove it")
    if traversable:
        path.chmod(0o711)
    elif info.st_mode & 0o022:
        path.chmod(info.st_mode & ~0o022)
    return path


def remove_stale_profiles(work_dir: Path, run_as: tuple[int, int] | None = None) -> None:
    """Delete profiles whose owning worker process is gone (killed with SIGKILL, say), and
    the pipes in /tmp their LibreOffice left (``run_as``: the user it ran as)."""
    for profile in work_dir.glob("lo-profile-*"):
        owner = _PROFILE_OWNER.match(profile.name)
        if owner and not psutil.pid_exists(int(owner.group(1))):
            with contextlib.suppress(OSError):
                pipes = (profile / _PIPES_FILE).read_text().split()
                _remove_pipes_as([p for p in pipes if p.startswith("/tmp/OSL_PIPE_")], run_as)
            shutil.rmtree(profile, ignore_errors=True)


class _Transport(xmlrpc.client.Transport):
    """xmlrpc's transport with a socket timeout, so a hung LibreOffice cannot hang us."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def rpc_proxy(url: str, timeout: float) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(url, transport=_Transport(timeout), allow_none=True)


def _minimal_environment(profile: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(profile),
        "TMPDIR": str(profile),
        "LANG": "C.UTF-8",
        "SAL_USE_VCLPLUGIN": "svp",
        "FONTCONFIG_FILE": str(profile / "fonts.conf"),
    }


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _listening_sockets(processes: list[psutil.Process]) -> list[str]:
    """The unix sockets LibreOffice listens on: its UNO pipe and its single-instance pipe."""
    paths = set()
    for process in processes:
        with contextlib.suppress(psutil.Error):
            paths |= {
                c.laddr
                for c in process.net_connections(kind="unix")
                if isinstance(c.laddr, str) and "/OSL_PIPE_" in c.laddr
            }
    return sorted(paths)


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    # psutil checks each process's start time before signalling, so a pid reused by an
    # unrelated process is never signalled.
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)
