"""Who holds an app's listening address: the app's own gunicorn, or some other program.

An answer on ``app.bind`` proves nothing by itself: when another program already listens there (a second
app given the same port, a development server left running), the app's gunicorn cannot bind, retries for
a few seconds (long enough for supervisor to call it RUNNING) and exits, while the other program keeps
answering, and nginx sends this app's visitors to it. So the wizard asks the kernel which process holds
the listening socket (/proc/net/tcp, tcp6 and unix; /proc/PID/fd) and whether it is the program's own.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column
_UNIX_LISTENING = "00010000"  # __SO_ACCEPTCON in /proc/net/unix's "Flags" column


def _tcp_address(hex_address: str) -> tuple[str, int]:
    """/proc/net/tcp's "0100007F:12D4" (little-endian words) as ("127.0.0.1", 4820)."""
    host, port = hex_address.rsplit(":", 1)
    raw = bytes.fromhex(host)
    packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(packed)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address), int(port, 16)


def _tcp_inodes(host: str, port: int) -> set[int]:
    """Listening sockets on host:port, or on the wildcard address of that port (which takes it too)."""
    wanted = {host, "0.0.0.0", "::"}
    found = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            lines = (PROC / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10 or parts[3] != _LISTEN:
                continue
            address, number = _tcp_address(parts[1])
            if number == port and address in wanted:
                found.add(int(parts[9]))
    return found


def _unix_inodes(path: str) -> set[int]:
    try:
        lines = (PROC / "net/unix").read_text().splitlines()[1:]
    except OSError:
        return set()
    return {int(parts[6]) for parts in (line.split() for line in lines)
            if len(parts) >= 8 and parts[7] == path and parts[3] == _UNIX_LISTENING}


def listening_inodes(bind: str) -> set[int]:
    """The kernel's inodes of the sockets listening on a gunicorn ``bind`` ("127.0.0.1:PORT" or "unix:PATH")."""
    if bind.startswith("unix:"):
        return _unix_inodes(bind[len("unix:"):])
    host, _, port = bind.rpartition(":")
    host = host.strip("[]").replace("localhost", "127.0.0.1")
    return _tcp_inodes(host, int(port)) if port.isdigit() else set()


def holders(inodes: set[int]) -> set[int]:
    """The processes with one of these sockets open (gunicorn's master and its workers share one)."""
    found = set()
    for proc in PROC.iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                    found.add(int(proc.name))
                    break
        except (OSError, ValueError):
            continue
    return found


def _parent(pid: int) -> int:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name in parentheses may hold spaces


def within(pid: int, ancestor: int) -> bool:
    """``pid`` is ``ancestor`` or one of its descendants."""
    for _ in range(64):  # a process tree is never this deep; a loop in a racing /proc ends here
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        pid = _parent(pid)
    return False


def describe(pid: int) -> str:
    """ "pid 8027: gunicorn --config /etc/piserver-wizard/acmedown/..." (shortened), for the message."""
    try:
        argv = (PROC / str(pid) / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        command = " ".join(part.decode("utf-8", "replace") for part in argv)
    except OSError:
        command = "?"
    command = command if len(command) <= 120 else command[:117] + "..."
    return f"pid {pid}: {command}"


def foreign_holder(bind: str, program_pid: int) -> str | None:
    """A process listening on ``bind`` that is not ``program_pid``'s, described; None when the address
    is the program's own, or free, or its holder cannot be seen (then the answer is believed)."""
    pids = holders(listening_inodes(bind))
    if not pids or program_pid <= 0 or any(within(pid, program_pid) for pid in pids):
        return None
    return describe(min(pids))
