"""Facts about the machine, read before anything is planned.

The probe only reads: files under /proc and /etc, and a few quick commands with no side effects. It is
what makes the plan fit this machine (systemd or not, apache there or not, a cert already issued) and what
the welcome screen and the preflight warnings show.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .nginx_conf import NginxConfig
from .nginx_conf import probe as nginx_config
from .release import OsRelease, http2_directive, nginx_version, read_os_release

WATCHED_PACKAGES = ("apache2", "nginx", "supervisor", "certbot", "python3-certbot-nginx", "python3-venv", "cron")


@dataclass(frozen=True)
class Listener:
    port: int
    process: str  # e.g. "nginx" or "?" when the owner cannot be seen
    pid: int | None


@dataclass(frozen=True)
class OtherApp:
    """An app the wizard already manages on this machine (its saved answers): what a new one must not share."""

    name: str
    bind: str
    domains: tuple[str, ...]


@dataclass
class Facts:
    hostname: str = ""
    os_name: str = ""
    os_release: OsRelease | None = None  # None: not probed (a test's own facts)
    nginx_version: str = ""  # upstream version, e.g. "1.26.3"; see nginx_version() for where it comes from
    nginx_version_source: str = ""
    nginx_config: NginxConfig = field(default_factory=NginxConfig)  # nginx.conf and default_server claims
    arch: str = ""
    kernel: str = ""
    ip_addresses: list[str] = field(default_factory=list)
    python_version: str = ""
    systemd: bool = False
    installed: dict[str, str] = field(default_factory=dict)  # package -> version, for WATCHED_PACKAGES
    dpkg_audit: str = ""
    free_disk_bytes: int = 0
    listeners: list[Listener] = field(default_factory=list)
    cores: int = 1
    memory_bytes: int = 0  # MemTotal; 0 when unknown. Sizes the default number of gunicorn workers
    ipv6: bool = True
    default_user: str | None = None
    is_root: bool = False
    clock_synced: bool | None = None  # the kernel's NTP state; None when it cannot be told
    managed_apps: list[OtherApp] = field(default_factory=list)  # the apps' saved answers, this one's included
    probe_seconds: float = 0.0

    @property
    def nginx_http2_directive(self) -> bool:
        """For the site template: nginx 1.25.1+ takes `http2 on;` (trixie), older `listen ... http2`."""
        return http2_directive(self.nginx_version)

    def has(self, package: str) -> bool:
        return package in self.installed

    def owners_of(self, port: int) -> list[str]:
        return sorted({lst.process for lst in self.listeners if lst.port == port})


def _run(argv: list[str], timeout: float = 10.0) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def installed_packages(names: tuple[str, ...] = WATCHED_PACKAGES) -> dict[str, str]:
    """Packages dpkg considers fully installed ("ii"); a half-removed "rc" package does not count."""
    out = _run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Version}\n", *names])
    result = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].startswith("ii"):
            result[parts[0]] = parts[2]
    return result


def _ip_addresses() -> list[str]:
    out = _run(["hostname", "-I"])
    return out.split()


def _socket_inodes() -> dict[int, tuple[str, int]]:
    """Map socket inode -> (process name, pid) by walking /proc/*/fd; unreadable ones are skipped."""
    owners: dict[int, tuple[str, int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text().strip()
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners[int(target[8:-1])] = (name, int(proc.name))
        except OSError:
            continue
    return owners


def listeners(ports: tuple[int, ...] = (80, 443)) -> list[Listener]:
    """Who listens on the web ports, read from /proc/net/tcp{,6} (no ss or netstat needed)."""
    wanted: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10 or parts[3] != "0A":  # 0A = LISTEN
                continue
            port = int(parts[1].rsplit(":", 1)[1], 16)
            if port in ports:
                wanted[int(parts[9])] = port
    if not wanted:
        return []
    owners = _socket_inodes()
    found = {}
    for inode, port in wanted.items():
        name, pid = owners.get(inode, ("?", None))  # type: ignore[assignment]
        found[(port, name)] = Listener(port, name, pid)
    return sorted(found.values(), key=lambda item: (item.port, item.process))


def clock_synchronised() -> bool | None:
    """The kernel's own view (adjtimex): None when it cannot be asked. Works with or without systemd."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        buffer = ctypes.create_string_buffer(512)  # struct timex, zeroed: modes = 0 reads only
        state = libc.adjtimex(buffer)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != 5  # TIME_ERROR: the clock is not synchronised


def _default_user() -> str | None:
    """The person behind sudo, else the first ordinary account (uid >= 1000), as on a Pi."""
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user and sudo_user != "root":
        return sudo_user
    users = sorted((e for e in pwd.getpwall() if 1000 <= e.pw_uid < 60000 and e.pw_shell not in
                    ("/usr/sbin/nologin", "/bin/false")), key=lambda e: e.pw_uid)
    return users[0].pw_name if users else None


def memory_total() -> int:
    """MemTotal from /proc/meminfo in bytes (what Linux has after the GPU's share), 0 when unreadable."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def dpkg_interrupted() -> str:
    """What apt would complain about: half-configured packages, or journal files dpkg never replayed.

    apt refuses to work ("dpkg was interrupted, you must manually run 'dpkg --configure -a'") when
    /var/lib/dpkg/updates holds files, which is what a killed dpkg leaves even when --audit is quiet.
    """
    if not shutil.which("dpkg"):
        return ""
    audit = _run(["dpkg", "--audit"]).strip()
    try:
        pending = [p.name for p in Path("/var/lib/dpkg/updates").iterdir()]
    except OSError:
        pending = []
    if pending and not audit:
        audit = f"dpkg was interrupted: {len(pending)} journal file(s) in /var/lib/dpkg/updates"
    return audit


def managed_apps() -> list[OtherApp]:
    """Each app's saved answers (``apps/NAME.toml`` beside the state, see ``verbs.apps``), read for two
    keys only; a file that cannot be read is left out (the verbs report it)."""
    import tomli

    from .state import state_dir

    found = []
    try:
        paths = sorted((state_dir() / "apps").glob("*.toml"))
    except OSError:  # not root: the state is root's
        return []
    for path in paths:
        try:
            data = tomli.loads(path.read_text())
            app, site = data.get("app", {}), data.get("site", {})
            found.append(OtherApp(str(app.get("name", path.stem)), str(app.get("bind", "")),
                                  tuple(str(d) for d in site.get("domains", []))))
        except (OSError, ValueError, AttributeError, TypeError):
            continue
    return found


def probe() -> Facts:
    started = time.monotonic()
    release = read_os_release()
    installed = installed_packages()
    version, source = nginx_version(installed, release)
    facts = Facts(
        hostname=socket.gethostname(),
        os_name=release.pretty_name or platform.system(),
        os_release=release,
        nginx_version=version,
        nginx_version_source=source,
        nginx_config=nginx_config(),
        arch=platform.machine(),
        kernel=platform.release(),
        ip_addresses=_ip_addresses(),
        python_version=platform.python_version(),
        systemd=Path("/run/systemd/system").is_dir(),
        installed=installed,
        dpkg_audit=dpkg_interrupted(),
        free_disk_bytes=shutil.disk_usage("/").free,
        listeners=listeners(),
        cores=os.cpu_count() or 1,
        memory_bytes=memory_total(),
        ipv6=Path("/proc/net/if_inet6").exists(),
        default_user=_default_user(),
        is_root=os.geteuid() == 0,
        clock_synced=clock_synchronised(),
        managed_apps=managed_apps(),
    )
    facts.probe_seconds = time.monotonic() - started
    return facts


@dataclass(frozen=True)
class AppFacts:
    """What the machine says about one app before its plan is made: the plan itself reads nothing."""

    home: str  # the app user's home folder (HOME for pip and gunicorn)
    requirements_hash: str = ""  # sha256 of the app's requirements.txt; "" when it has none
    has_certificate: bool = False  # certbot holds a certificate under the app's name
    has_local_certificate: bool = False  # the wizard's local CA issued one for it (https.mode = "local-ca")
    page_is_the_samples: bool = True  # the app's app.py still says the sample's "Hello, World!" (or is not there)
    site_serves_tls: bool = False  # the app's nginx site, as it is now, has its TLS server block
    page_hash: str = ""  # sha256 of the app's app.py as it is; "" when there is none


def probe_app(user: str, directory: str, requirements: str, cert_name: str, site: str = "") -> AppFacts:
    """``directory``: the app's folder, the home of a user the wizard will create; ``site``: its nginx site."""
    from . import boundary, certs, localca
    from .files import read_root_file, sha256

    try:
        home = pwd.getpwnam(user).pw_dir
    except KeyError:
        home = directory
    content = boundary.read_as_owner(requirements, user)
    page = boundary.read_as_owner(f"{directory}/app.py", user)
    return AppFacts(home, sha256(content) if content is not None else "", certs.read(cert_name) is not None,
                    os.path.isfile(f"{localca.cert_dir(cert_name)}/fullchain.pem"),
                    page is None or b"Hello, World!" in page, _has_tls_block(read_root_file(site) if site else None),
                    sha256(page) if page is not None else "")


def _has_tls_block(site: bytes | None) -> bool:
    """Whether nginx is told to serve TLS there: a certificate line outside a comment."""
    lines = (line.split(b"#", 1)[0].strip() for line in (site or b"").splitlines())
    return any(line.startswith(b"ssl_certificate ") for line in lines)
