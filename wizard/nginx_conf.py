"""Debian's /etc/nginx/nginx.conf as the wizard leaves it, and which other sites claim a default server.

Debian's nginx.conf enables TLS 1.0 and 1.1 and server cipher order at http level, and leaves
``server_tokens`` on: every server block that does not override them inherits them (certbot's redirect
blocks, Debian's default site, any site the owner adds), and gixy-ng rightly reports them. An http-level
directive cannot be set a second time from an included file (nginx: "is duplicate"), so the wizard edits
those few lines of the file itself, and only those: each replacement is rendered from
``templates/nginx-conf-line.j2``, shown as a diff, backed up and checked by ``nginx -t`` like any other
file (worked out when the step runs: see ``steps.site.TunedNginxConf``). dpkg keeps the edited conffile on upgrades (the wizard's apt runs say --force-confold).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .render import render

NGINX_CONF = "/etc/nginx/nginx.conf"
WEAK_PROTOCOLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}
_PROTOCOLS = re.compile(r"^([ \t]*)ssl_protocols\s+([^;#]*);.*$", re.M)
_PREFER = re.compile(r"^([ \t]*)ssl_prefer_server_ciphers\s+on\s*;.*$", re.M)
_TOKENS_COMMENTED = re.compile(r"^([ \t]*)#\s*server_tokens\s+off\s*;.*$", re.M)
_TOKENS_SET = re.compile(r"^[ \t]*server_tokens\s", re.M)
_WORKER_PROCESSES = re.compile(r"^([ \t]*)worker_processes\s+[^;]*;.*$", re.M)
_RLIMIT_SET = re.compile(r"^[ \t]*worker_rlimit_nofile\s", re.M)
_CONNECTIONS = re.compile(r"^[ \t]*worker_connections\s+(\d+)\s*;", re.M)
_DEFAULT_LISTEN = re.compile(r"^[ \t]*listen\s+([^;#]*\bdefault_server\b[^;#]*);", re.M)


def _line(indent: str, name: str, **context: object) -> str:
    return indent + render("nginx-conf-line.j2", line=name, **context).rstrip("\n")


def tuned(text: str) -> str:
    """``text`` with Debian's weakening lines replaced; a line already changed by its owner is kept."""
    def protocols(match: re.Match[str]) -> str:
        weak = WEAK_PROTOCOLS & set(match.group(2).split())
        return _line(match.group(1), "ssl_protocols") if weak else match.group(0)

    text = _PROTOCOLS.sub(protocols, text)
    text = _PREFER.sub(lambda m: _line(m.group(1), "ssl_prefer_server_ciphers"), text)
    if not _TOKENS_SET.search(text):
        text = _TOKENS_COMMENTED.sub(lambda m: _line(m.group(1), "server_tokens"), text, count=1)
    if not _RLIMIT_SET.search(text):
        connections = _CONNECTIONS.search(text)
        limit = 2 * int(connections.group(1)) if connections else 1024  # nginx's own default is 512
        text = _WORKER_PROCESSES.sub(
            lambda m: m.group(0) + "\n" + _line(m.group(1), "worker_rlimit_nofile", limit=limit), text, count=1)
    return text


def default_server_ports(text: str) -> set[int]:
    """The ports a config file's ``listen ... default_server`` lines claim (80, 443, 8080...)."""
    ports = set()
    for match in _DEFAULT_LISTEN.finditer(text):
        address = match.group(1).split()[0]
        port = address.rsplit(":", 1)[-1] if not address.startswith("unix:") else ""
        if port.isdigit():
            ports.add(int(port))
    return ports


@dataclass(frozen=True)
class NginxConfig:
    """What the plan needs to know of the machine's nginx config: read once, by the probe."""

    default_claims: dict[str, frozenset[int]] = field(default_factory=dict)  # enabled file -> ports

    def claimed_elsewhere(self, skip: set[str]) -> set[int]:
        """Ports another enabled site makes the default server of (``skip``: paths to leave out)."""
        return {port for path, ports in self.default_claims.items() if path not in skip for port in ports}


def probe(root: str = "/etc/nginx") -> NginxConfig:
    claims = {}
    for folder, pattern in (("sites-enabled", "*"), ("conf.d", "*.conf")):
        for path in sorted(Path(root, folder).glob(pattern)):
            try:
                claims[str(path)] = frozenset(default_server_ports(path.read_text(errors="replace")))
            except OSError:
                continue
    return NginxConfig(claims)
