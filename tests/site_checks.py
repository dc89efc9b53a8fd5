"""Fetching the installed site as a visitor would, over loopback, trusting only pebble's root."""

from __future__ import annotations

import http.client
import socket
import ssl
import stat
import subprocess
import urllib.request
from pathlib import Path


def pebble_root(acme: dict[str, str], dest: Path) -> Path:
    """pebble makes a new root at every start, so it is fetched now, from its management port."""
    context = ssl.create_default_context(cafile=acme["ACME_CA_BUNDLE"])
    handler = urllib.request.HTTPSHandler(context=context)
    opener = urllib.request.build_opener(handler, urllib.request.ProxyHandler({}))
    with opener.open(acme["ACME_ROOT_URL"], timeout=10) as response:
        dest.write_bytes(response.read())
    return dest


def http_get(domain: str, path: str = "/") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": domain})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def https_get(domain: str, root: Path, path: str = "/") -> tuple[int, str, dict]:
    """Full verification: chain to pebble's root and the name checked against SNI, on 127.0.0.1."""
    context = ssl.create_default_context(cafile=str(root))
    with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=domain) as tls:
            cert = tls.getpeercert()
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    text = data.decode("utf-8", "replace")
    status = int(text.split(" ", 2)[1])
    return status, text, cert


def tree_fingerprint(*roots: str) -> dict[str, tuple]:
    """Every file and link under the roots with size, mode and mtime: equal means nothing was rewritten.

    Folders are left out: their mtime moves when a temp file comes and goes, which is not a change.
    """
    seen: dict[str, tuple] = {}
    for root in roots:
        base = Path(root)
        if not base.exists():
            continue
        for path in [base, *sorted(base.rglob("*"))]:
            try:
                st = path.lstat()
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                seen[str(path)] = (st.st_size, st.st_mode, st.st_mtime_ns)
    return seen


def curl(*args: str) -> subprocess.CompletedProcess:
    """curl on loopback only: every name is pinned to 127.0.0.1 by the caller (--resolve or a Host header)."""
    return subprocess.run(["curl", "-sS", "--max-time", "10", "--noproxy", "*", *args], capture_output=True,
                          text=True, timeout=30)


def https_head(domain: str, root: Path, path: str = "/", *extra: str) -> tuple[int, dict[str, str], str]:
    """Status, headers (names lowercased) and body of a GET over HTTPS, certificate checked against pebble."""
    done = curl("--cacert", str(root), "--resolve", f"{domain}:443:127.0.0.1", "-D", "-", *extra,
                f"https://{domain}{path}")
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.partition("\n\n")  # text mode: curl's CRLFs arrive as newlines
    lines = head.splitlines()
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body
