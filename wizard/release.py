"""Which system this is, from os-release(5), and what follows from it: the release's nginx and its syntax.

Trixie (Debian 13, Raspberry Pi OS since late 2025) and bookworm (12) differ in ways the plan must
follow from facts rather than guesses: nginx 1.26 wants `http2 on;` where 1.22 wants `listen ... http2`.
Reading only: a file and one apt-cache query with no side effects.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path


def _apt_policy(package: str) -> str:
    try:
        return subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, timeout=30,
                              check=False, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


OS_RELEASE = "/etc/os-release"
SUPPORTED_RELEASES = {"12": "bookworm", "13": "trixie"}  # Debian, and Raspberry Pi OS built on it
SUPPORTED_WORDS = "Raspberry Pi OS / Debian 12 (bookworm) or 13 (trixie)"
# The nginx each supported release ships, for a first run that plans before nginx (or apt's lists) is there.
RELEASE_NGINX = {"12": "1.22.1", "13": "1.26.3"}
HTTP2_DIRECTIVE_SINCE = (1, 25, 1)  # nginx 1.25.1: `http2 on;`, and `listen ... http2` deprecated


@dataclass(frozen=True)
class OsRelease:
    """The os-release fields the wizard relies on; Raspberry Pi OS says ID=debian (or raspbian, 32-bit)."""

    id: str = ""
    version_id: str = ""
    codename: str = ""
    id_like: tuple[str, ...] = ()
    pretty_name: str = ""

    @property
    def supported(self) -> bool:
        """Debian 12 or 13 itself, or built on it and saying so by ID (raspbian) or codename."""
        debian = self.id in ("debian", "raspbian")
        release = self.version_id or next((v for v, name in SUPPORTED_RELEASES.items()
                                           if name == self.codename), "")
        return debian and release in SUPPORTED_RELEASES

    def describe(self) -> str:
        fields = f"ID={self.id or '?'}, VERSION_ID={self.version_id or '?'}"
        if self.codename:
            fields += f", VERSION_CODENAME={self.codename}"
        return f"{self.pretty_name or 'an unnamed system'} ({fields})"


def _unquote(value: str) -> str:
    """os-release values are shell-like: optionally quoted, with backslash escapes inside quotes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return re.sub(r"\\([\\\"'$`])", r"\1", value[1:-1])
    return value


def read_os_release(path: str = OS_RELEASE) -> OsRelease:
    """os-release(5): /etc/os-release, else /usr/lib/os-release; an unreadable one says nothing."""
    fields: dict[str, str] = {}
    for candidate in (path, "/usr/lib/os-release") if path == OS_RELEASE else (path,):
        try:
            text = Path(candidate).read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                fields[key.strip()] = _unquote(value)
        break
    return OsRelease(fields.get("ID", "").lower(), fields.get("VERSION_ID", ""),
                     fields.get("VERSION_CODENAME", ""), tuple(fields.get("ID_LIKE", "").lower().split()),
                     fields.get("PRETTY_NAME", ""))


def upstream_version(debian_version: str) -> str:
    """1.26.3 from 1.26.3-3+deb13u1 (or 1:1.26.3-3): the epoch and the Debian revision go."""
    return debian_version.split(":", 1)[-1].rsplit("-", 1)[0]


def version_tuple(version: str) -> tuple[int, ...]:
    """(1, 26, 3) from 1.26.3 or 1.26.3~rc1: the leading number of each part, up to the first non-number."""
    parts = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def nginx_version(installed: dict[str, str], release: OsRelease) -> tuple[str, str]:
    """(version, where it came from): the installed nginx, else the one apt would install, else the
    release's own; the site file is rendered before a first run has installed nginx."""
    if "nginx" in installed:
        return upstream_version(installed["nginx"]), "installed"
    for line in _apt_policy("nginx").splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Candidate" and value.strip() not in ("", "(none)"):
            return upstream_version(value.strip()), "apt candidate"
    version = RELEASE_NGINX.get(release.version_id, "")
    return version, f"Debian {release.version_id}'s" if version else "unknown"


def http2_directive(version: str) -> bool:
    """`http2 on;` (nginx >= 1.25.1) rather than `listen 443 ssl http2`, which 1.25.1+ warns about."""
    return bool(version) and version_tuple(version) >= HTTP2_DIRECTIVE_SINCE
