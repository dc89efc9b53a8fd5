"""Which nginx site answered a name: this app's, or another one that names it too.

Two enabled sites with one server_name pass `nginx -t` with a warning only ("conflicting server name ...,
ignored"), and nginx answers that name from the site it read first (sites-enabled in name order): a stale
site of a removed app, one the owner wrote by hand, another app's. A 200 then proves nothing, and neither
does the page once the owner has replaced the sample. So the check sends a request with a token of its
own and looks for the token in this site's access log, which only this site writes.
"""

from __future__ import annotations

import http.client
import os
import secrets
import stat
import subprocess
import time

from . import boundary

TAIL_BYTES = 65536  # the request was just made: it is among the last lines


def log_tail(path: str) -> bytes:
    """The end of a log in root's folders (nginx's, written by www-data), read without following a link."""
    parent, _, name = path.rpartition("/")
    try:
        dir_fd = boundary.walk(parent, trusted_only=True)
    except (boundary.Unsafe, OSError):
        return b""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return b""
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        return os.pread(fd, TAIL_BYTES, max(0, info.st_size - TAIL_BYTES)) if stat.S_ISREG(info.st_mode) else b""
    finally:
        os.close(fd)


def conflicts(domain: str) -> list[str]:
    """nginx's own warnings about this name being in two sites (from `nginx -t`, which changes nothing)."""
    try:
        done = subprocess.run(["nginx", "-t"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stderr.splitlines() if f'conflicting server name "{domain}"' in line]


def answered_here(domain: str, access_log: str, *, timeout: float = 10.0) -> tuple[bool, str]:
    """http://domain/ via 127.0.0.1 is logged in ``access_log``, the site's own."""
    token = secrets.token_hex(8)
    conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Host": domain, "User-Agent": f"piserver-wizard-verify {token}"})
        conn.getresponse().read(65536)
    except (OSError, http.client.HTTPException) as error:
        return False, f"http://{domain}/ via 127.0.0.1: {error}"
    finally:
        conn.close()
    deadline = time.monotonic() + 2.0  # nginx logs a request after it has sent the answer
    while True:
        if token.encode() in log_tail(access_log):
            return True, f"http://{domain}/ is answered by this site"
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    return False, f"http://{domain}/ is answered by another nginx site, not this app's ({access_log} has no " \
                  "trace of the request)"


def conflict_hint(domain: str) -> str:
    """What to do when nginx says the name is in two sites; "" when it does not say so."""
    said = conflicts(domain)
    if not said:
        return ""
    return (f"; nginx -t says: {said[0]}. Two sites name {domain} and nginx answers it from the first it reads: "
            f'take it out of the other one (sudo grep -rl "{domain}" /etc/nginx/sites-enabled/ finds it)')
