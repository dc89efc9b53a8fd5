"""What nginx in front costs and saves, measured on the installed sample site (loopback only).

Every figure is a ratio of two things measured side by side in one run, round after round in a rotating
order (this machine and a Pi are shared and noisy), reported as the ratio of the medians with the range
of the per-round ratios. The load generator is h2load (Debian's nghttp2-client): it names the site in
SNI and Host while connecting to 127.0.0.1 (--connect-to), which wrk cannot. Nothing here asserts a time.

    sudo .venv-test/bin/python bench/site.py --app e2e [--rounds 3] [--seconds 5] [--clients 16] [--smoke]

The app is one the wizard installed (its answers are read from /var/lib/piserver-wizard/apps/APP.toml),
with the sample app and a TCP bind (gunicorn is also asked directly). Measured:
  - dynamic / through nginx over HTTPS against gunicorn directly (HTTP/1.1 both);
  - /static/style.css through nginx over HTTPS against the same file from Flask (gunicorn directly);
  - TLS handshakes per second, new sessions against resumed ones (the session cache; tickets are off);
  - bytes on the wire for / and /static/style.css with and without gzip;
  - gunicorn's sync workers against gthread workers (requests/s and RSS), on a spare port.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Callable

APPS = Path("/var/lib/piserver-wizard/apps")
SPARE_PORT = 4497  # the gunicorns this benchmark starts itself listen here, on 127.0.0.1 only


def load_app(name: str) -> dict:
    answers = tomllib.loads((APPS / f"{name}.toml").read_text())
    app, site = answers["app"], answers["site"]
    if app.get("bind", "").startswith("unix:"):
        sys.exit(f"bench/site.py: {name} listens on a unix socket; h2load needs a TCP bind to ask gunicorn")
    return {"name": name, "domain": site["domains"][0], "bind": app["bind"], "user": app["user"],
            "directory": app["directory"], "workers": int(app.get("workers", 4)), "wsgi": app.get("wsgi", "app:app")}


def h2load(url: str, seconds: float, clients: int, *extra: str) -> float:
    """Requests per second that succeeded (HTTP/1.1) in a run sized to last about ``seconds``.

    A count of requests (-n), not h2load's duration mode: against gunicorn's sync workers, which close
    every connection, h2load 1.52's -D hangs now and then at the end of a run.
    """
    rate = _h2load_rate(url, clients * 20, clients, extra)  # a short run to size the measured one
    return _h2load_rate(url, max(clients * 20, min(int(rate * seconds), 1_000_000)), clients, extra)


def _h2load_rate(url: str, requests: int, clients: int, extra: tuple[str, ...]) -> float:
    argv = ["h2load", "--h1", "-c", str(clients), "-t", "2" if clients > 1 else "1", "-n", str(requests),
            *extra, url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300).stdout
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    took = re.search(r"finished in ([\d.]+)(ms|s),", out)
    if not done or not took or int(done.group(1)) < requests:
        raise RuntimeError(f"h2load {url}: not every request succeeded\n{out}")
    elapsed = float(took.group(1)) / (1000 if took.group(2) == "ms" else 1)
    return int(done.group(1)) / elapsed


VIA_NGINX = ("--connect-to", "127.0.0.1:443")  # the URL's name goes in SNI and Host; the socket to loopback


def handshakes(domain: str, seconds: float, resume: bool) -> float:
    """Full TLS connections per second (handshake, one small request, close), sessions reused or not."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the handshake is measured, not trust
    request = f"GET /static/style.css HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n".encode()
    session, count, reused = None, 0, 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        with socket.create_connection(("127.0.0.1", 443), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=domain, session=session if resume else None) as tls:
                tls.sendall(request)
                while tls.recv(65536):
                    pass
                reused += tls.session_reused
                session = tls.session
        count += 1
    if resume and reused < count - 1:
        raise RuntimeError(f"only {reused} of {count} sessions were resumed")
    return count / (time.perf_counter() - started)


def wire_bytes(domain: str, path: str, gzip: bool) -> int:
    """Bytes of the response (headers and body, as sent) for one GET over HTTPS."""
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{size_header} %{size_download}", "--http1.1",
            "--resolve", f"{domain}:443:127.0.0.1", "-k", f"https://{domain}{path}"]
    if gzip:
        argv[1:1] = ["-H", "Accept-Encoding: gzip"]
    header, body = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.split()
    return int(header) + int(body)


def interleaved(measures: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    names = list(measures)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(measures[name]())
    return samples


def ratio(mine: list[float], base: list[float]) -> str:
    value = statistics.median(mine) / statistics.median(base)
    per_round = [m / b for m, b in zip(mine, base, strict=False)]
    return f"{value:.2f}x (per round {min(per_round):.2f}-{max(per_round):.2f}x)"


def show(title: str, samples: dict[str, list[float]], unit: str, pairs: list[tuple[str, str]]) -> None:
    print(f"\n{title}")
    for name, values in samples.items():
        print(f"  {name:<44} {statistics.median(values):>10,.0f} {unit}")
    for mine, base in pairs:
        print(f"  ratio {mine} / {base}: {ratio(samples[mine], samples[base])}")


def proxy_and_static(app: dict, args: argparse.Namespace) -> None:
    domain, direct = app["domain"], f"http://{app['bind']}"
    run = lambda url, *extra: lambda: h2load(url, args.seconds, args.clients, *extra)  # noqa: E731
    samples = interleaved({
        "/ via nginx (HTTPS)": run(f"https://{domain}/", *VIA_NGINX),
        "/ from gunicorn directly (HTTP)": run(f"{direct}/"),
        "/static/style.css via nginx (HTTPS)": run(f"https://{domain}/static/style.css", *VIA_NGINX),
        "/static/style.css from Flask (HTTP)": run(f"{direct}/static/style.css"),
    }, args.rounds)
    show(f"Requests per second, {args.clients} connections, {args.seconds:g} s a run, {args.rounds} rounds",
         samples, "req/s", [("/ via nginx (HTTPS)", "/ from gunicorn directly (HTTP)"),
                            ("/static/style.css via nginx (HTTPS)", "/static/style.css from Flask (HTTP)")])


def tls_and_bytes(app: dict, args: argparse.Namespace) -> None:
    domain = app["domain"]
    samples = interleaved({
        "resumed sessions": lambda: handshakes(domain, args.seconds, True),
        "new sessions (full handshake)": lambda: handshakes(domain, args.seconds, False),
    }, args.rounds)
    show("TLS connections per second (one client, handshake + one small request)", samples, "conn/s",
         [("resumed sessions", "new sessions (full handshake)")])
    sizes = {f"{path} {'gzip' if gz else 'identity'}": [float(wire_bytes(domain, path, gz))]
             for path in ("/", "/static/style.css") for gz in (True, False)}
    show("Bytes on the wire (headers + body), one GET each", sizes, "bytes",
         [("/ gzip", "/ identity"), ("/static/style.css gzip", "/static/style.css identity")])


def rss_kib(pid: int) -> int:
    """RSS of a gunicorn arbiter and its workers, in KiB (shared pages counted in each, as ps does)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]
        if int(entry.name) == pid or ppid == pid:
            found = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
            total += int(found.group(1)) if found else 0
    return total


def start_gunicorn(app: dict, *options: str) -> subprocess.Popen:
    """A gunicorn of the app's own venv, as the app user, on the spare loopback port; waits until it answers."""
    gunicorn = f"{app['directory']}/venv/bin/gunicorn"
    argv = ["runuser", "-u", app["user"], "--", gunicorn, "--chdir", app["directory"], "--bind",
            f"127.0.0.1:{SPARE_PORT}", *options, app["wsgi"]]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", SPARE_PORT), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"gunicorn {' '.join(options)} did not answer on 127.0.0.1:{SPARE_PORT}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # runuser and the gunicorn it started: this run's own group
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def gunicorn_pid(process: subprocess.Popen) -> int:
    """The arbiter: runuser's child."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"PPid:\t{process.pid}\n" in (entry / "status").read_text():
                    return int(entry.name)
            except OSError:
                continue
    return process.pid


def worker_classes(app: dict, args: argparse.Namespace) -> None:
    workers = app["workers"]
    kinds = {f"sync, {workers} workers": ("--worker-class", "sync", "--workers", str(workers)),
             "gthread, 2 workers x 4 threads": ("--worker-class", "gthread", "--workers", "2", "--threads", "4"),
             "gthread, 1 worker x 8 threads": ("--worker-class", "gthread", "--workers", "1", "--threads", "8")}
    rps: dict[str, list[float]] = {name: [] for name in kinds}
    rss: dict[str, list[float]] = {name: [] for name in kinds}
    for round_ in range(args.rounds):
        names = list(kinds)[round_ % len(kinds):] + list(kinds)[:round_ % len(kinds)]
        for name in names:
            process = start_gunicorn(app, *kinds[name])
            try:
                rps[name].append(h2load(f"http://127.0.0.1:{SPARE_PORT}/", args.seconds, args.clients))
                rss[name].append(float(rss_kib(gunicorn_pid(process))) / 1024)
            finally:
                stop(process)
    base = f"sync, {workers} workers"
    show("gunicorn directly: requests per second by worker class", rps, "req/s",
         [(name, base) for name in kinds if name != base])
    show("gunicorn RSS after the load (arbiter + workers)", rss, "MiB", [(name, base) for name in kinds if name != base])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", default="hello", help="an app the wizard installed (its name)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="one short round of everything (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.seconds, args.clients = 1, 1.0, 4
    for tool in ("h2load", "curl"):
        if not shutil.which(tool):
            sys.exit(f"bench/site.py: {tool} is missing (apt-get install nghttp2-client curl)")
    app = load_app(args.app)
    print(f"site {app['domain']} (app {app['name']}, gunicorn on {app['bind']}), {os.cpu_count()} cores")
    proxy_and_static(app, args)
    tls_and_bytes(app, args)
    worker_classes(app, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
