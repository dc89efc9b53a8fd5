"""Checking the site the way a visitor would, but over loopback only.

The wizard connects to 127.0.0.1 with the domain as Host header and TLS SNI, so it tests this machine's
nginx whatever DNS says (a Pi behind NAT resolves to the router) and never sends traffic elsewhere.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Callable

from . import certs, listening


def eventually(check: Callable[[], tuple[bool, str]], *, timeout: float = 10.0,
               interval: float = 0.25) -> tuple[bool, str]:
    """The check, retried for a while: `nginx reload` returns before its new workers serve the new site."""
    deadline = time.monotonic() + timeout
    while True:
        ok, message = check()
        if ok or time.monotonic() >= deadline:
            return ok, message
        time.sleep(interval)


def _get(conn: http.client.HTTPConnection, host: str) -> tuple[int, str, str]:
    conn.request("GET", "/", headers={"Host": host, "User-Agent": "piserver-wizard-verify"})
    response = conn.getresponse()
    body = response.read(65536).decode("utf-8", "replace")
    return response.status, response.getheader("Location", ""), body


_STATUS_WORDS = {
    502: "502 Bad Gateway: nginx runs, but the app does not answer it (see the app's error log)",
    504: "504 Gateway Timeout: the app took too long to answer nginx (see the app's error log)",
    500: "500: the app itself failed on this page (see the app's error log)",
    404: "404 Not Found: another site answered, perhaps nginx's default one",
    403: "403 Forbidden",
}


def _answered(status: int) -> str:
    """A status as words a Pi owner can act on, with where to look when there is one place."""
    return _STATUS_WORDS.get(status, f"HTTP status {status}")


def _quoted(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return f'"{line[:80]}"' if line else "nothing"


def check_http(domain: str, *, expect_redirect: bool, expect_text: str | None, port: int = 80,
               timeout: float = 10.0) -> tuple[bool, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        status, location, body = _get(conn, domain)
    except OSError as error:
        return False, f"http://{domain}/ via 127.0.0.1:{port}: {error}"
    finally:
        conn.close()
    if expect_redirect:
        if status in (301, 308) and location.startswith(f"https://{domain}"):
            return True, f"http://{domain}/ redirects to {location}"
        where = f" to {location}" if location else ""
        return False, (f"http://{domain}/ answered {_answered(status)}{where}, not the redirect to "
                       f"https://{domain}/ it should send")
    if status != 200:
        return False, f"http://{domain}/ answered {_answered(status)}"
    if expect_text and expect_text not in body:
        return False, f"http://{domain}/ answered, but not with the app's page (no {_quoted(expect_text)} in it)"
    return True, f"http://{domain}/ answers 200"


def probe_name(name: str) -> str:
    """A name the checks can ask for: one under a wildcard stands for it (*.example.com -> www.example.com)."""
    return "www." + name[2:] if name.startswith("*.") else name


def _names_match(domain: str, names: frozenset[str]) -> bool:
    """The name, or a wildcard one label up (*.example.com covers www.example.com, not example.com)."""
    return domain in names or ("." in domain and "*." + domain.split(".", 1)[1] in names)


def check_https(domain: str, cert_name: str, *, expect_text: str | None, port: int = 443,
                timeout: float = 10.0, cert_pem: str | None = None) -> tuple[bool, str]:
    """Serve check plus identity check: the certificate nginx presents must be the one certbot saved.

    Comparing with certbot's own file proves the right certificate is deployed even when its issuer is
    not in the system trust store (a staging or test CA); names are checked against the domain.
    """
    expected = certs.cert_der(cert_name) if cert_pem is None else certs.der_of(cert_pem)
    if expected is None:
        return False, f"no certificate saved for {cert_name} in {cert_pem or certs.live_dir(cert_name)}"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=domain) as tls:
                served = tls.getpeercert(binary_form=True)
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n"
                            f"User-Agent: piserver-wizard-verify\r\n\r\n".encode())
                chunks = []
                while True:
                    data = tls.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
    except (OSError, ssl.SSLError) as error:
        return False, f"https://{domain}/ via 127.0.0.1:{port}: {error}"
    if served != expected:
        return False, f"https://{domain}/ serves a certificate other than {cert_name}'s"
    names = certs.names_in(cert_pem) if cert_pem else getattr(certs.read(cert_name), "names", None)
    if names is not None and not _names_match(domain, names):
        return False, f"the certificate {cert_name} does not name {domain}"
    response = b"".join(chunks).decode("utf-8", "replace")
    status_line = response.split("\r\n", 1)[0]
    if " 200 " not in status_line + " ":
        parts = status_line.split(" ")
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        return False, f"https://{domain}/ answered {_answered(code) if code else _quoted(status_line)}"
    if expect_text and expect_text not in response:
        return False, f"https://{domain}/ answered, but not with the app's page (no {_quoted(expect_text)} in it)"
    return True, f"https://{domain}/ answers 200 with the certificate {cert_name}"


SUPERVISOR_SOCKET = "/var/run/supervisor.sock"  # Debian's supervisord.conf, [unix_http_server]


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def _supervisor_rpc_info(program: str, path: str) -> dict | None:
    """Ask supervisord itself over its socket (XML-RPC), as supervisorctl does, without starting one."""
    import xmlrpc.client

    class Transport(xmlrpc.client.Transport):
        def make_connection(self, host: object) -> http.client.HTTPConnection:
            return _UnixConnection(path, 15)

    proxy = xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=Transport())
    try:
        return dict(proxy.supervisor.getProcessInfo(program))
    except xmlrpc.client.Fault:
        return None  # BAD_NAME: no such program (yet)


def _supervisor_rpc_state(program: str, path: str) -> str:
    info = _supervisor_rpc_info(program, path)
    return "UNKNOWN" if info is None else str(info["statename"])


def started_before_written(program: str, path: str) -> bool:
    """The program's running process is older than ``path`` (its gunicorn.conf): it runs the settings of
    before. supervisor's `update` restarts a program only when its own section changed, and a run may die
    between a write and its restart: the effect is checked, not the file. False when it cannot tell."""
    try:
        info = _supervisor_rpc_info(program, SUPERVISOR_SOCKET)
        pid = int(info["pid"]) if info else 0
        if pid <= 0:
            return False
        return os.lstat(path).st_mtime > _started_at(pid)
    except (OSError, http.client.HTTPException, KeyError, ValueError, IndexError):
        return False


def _started_at(pid: int) -> float:
    """When the process started, in seconds since the epoch (its start in clock ticks after boot)."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")


def workers_started_before_written(program: str, path: str) -> bool:
    """The oldest of gunicorn's workers is older than ``path``: they run the settings of before. A graceful
    reload keeps the arbiter (so its age says nothing) and replaces every worker. False when it cannot tell
    (nothing running: the program step's checks are for that)."""
    from .verbs.processes import children

    try:
        info = _supervisor_rpc_info(program, SUPERVISOR_SOCKET)
        pid = int(info["pid"]) if info else 0
        workers = children(pid) if pid > 0 else set()
        return bool(workers) and os.lstat(path).st_mtime > min(_started_at(w) for w in workers)
    except (OSError, http.client.HTTPException, KeyError, ValueError, IndexError):
        return False


def supervisor_state(program: str) -> str:
    """RUNNING, STARTING, BACKOFF, FATAL... or UNKNOWN; supervisorctl (a whole Python start) as fallback."""
    try:
        return _supervisor_rpc_state(program, SUPERVISOR_SOCKET)
    except (OSError, http.client.HTTPException, KeyError, ValueError):
        pass
    try:
        out = subprocess.run(["supervisorctl", "status", program], capture_output=True, text=True,
                             timeout=15, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "UNKNOWN"
    parts = out.split()
    return parts[1] if len(parts) > 1 and parts[0] == program else "UNKNOWN"


def supervisor_pid(program: str) -> int:
    """The pid supervisor started the program as (gunicorn's master); 0 when not running or unknown."""
    try:
        info = _supervisor_rpc_info(program, SUPERVISOR_SOCKET)
        return int(info["pid"]) if info else 0
    except (OSError, http.client.HTTPException, KeyError, ValueError):
        pass
    try:
        out = subprocess.run(["supervisorctl", "pid", program], capture_output=True, text=True,
                             timeout=15, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return int(out) if out.isdigit() else 0


def app_answers(bind: str, timeout: float = 2.0) -> str | None:
    """Ask gunicorn itself, on its bind address, for any HTTP answer; None when nothing answers."""
    if bind.startswith("unix:"):
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: object = bind[len("unix:"):]
    else:
        host, _, port = bind.rpartition(":")
        raw = socket.socket(socket.AF_INET6 if host.startswith("[") else socket.AF_INET, socket.SOCK_STREAM)
        address = (host.strip("[]").replace("localhost", "127.0.0.1"), int(port))
    raw.settimeout(timeout)
    try:
        raw.connect(address)
        raw.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\nUser-Agent: piserver-wizard-verify\r\n\r\n")
        first = raw.recv(64).decode("latin-1", "replace")
    except OSError:
        return None
    finally:
        raw.close()
    return first.split("\r\n", 1)[0] if first.startswith("HTTP/") else None


def wait_serving(program: str, bind: str, error_log: str, *, timeout: float = 40.0) -> tuple[bool, str]:
    """Supervisor says RUNNING and the program's own gunicorn answers on its address: a process alone
    proves little (gunicorn keeps retrying a busy port for seconds while supervisor already says
    RUNNING), and neither does an answer (another program on the same address: see ``listening``)."""
    deadline = time.monotonic() + timeout
    state, answer, other = "UNKNOWN", None, None
    while time.monotonic() < deadline:
        state = supervisor_state(program)
        if state == "FATAL":
            break
        if state == "RUNNING":
            answer = app_answers(bind)
            # Waited out, not failed at once: a worker of the program's previous run may hold it a moment.
            other = listening.foreign_holder(bind, supervisor_pid(program)) if answer else None
            if answer and not other:
                return True, f"supervisor: {program} RUNNING, answering on {bind} ({answer})"
        time.sleep(0.5)
    if other:
        problem = (f"{bind} is answered by another program ({other}), not by {program}: give app.bind an "
                   "address no other program uses")
    elif state == "RUNNING":
        problem = f"supervisor: {program} is RUNNING, but nothing answers HTTP on {bind}"
    else:
        problem = f"supervisor: {program} is {state}, not RUNNING"
    return False, f"{problem}\n{log_tail(Path(error_log))}"


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return f"last lines of {path}:\n" + "\n".join(text.rstrip().splitlines()[-lines:])
