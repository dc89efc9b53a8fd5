"""Booted Debian containers in a network namespace of their own, each with its own pebble, offline.

Why: the containers of systemd_container.py share the host's network, so a test using them needs the
host's ports 80/443 (the host's nginx stopped, one such test at a time, the shared pebble). A lab instead
makes a network namespace, starts a pebble pair inside it (.ci/acme-up with a state folder of its own: the
ACME directory on 127.0.0.1:14000 *of that namespace*, mock DNS answering 127.0.0.1 for every name) and
boots the container in it. Whatever the container binds is reachable only from inside the namespace, so
labs run beside the host's own end-to-end tests and beside each other, and nothing they send leaves them.

Inside there is no route out, so what the wizard installs comes from an offline layer built once per
release and recipe (laid over the cached clean root): apt's package lists and the .debs the wizard's plan
installs (downloaded, not installed), and a wheelhouse with /etc/pip.conf pointing pip at it (the wizard's
own dependencies and the sample app's). A first run in a lab therefore measures the machine, not the
mirror, and a kill matrix can run the same install many times.

Usage::

    base, layer = offline_roots("trixie")
    with lab("kill1") as net, booted(base, "kill1", layers=(layer,), netns=net.netns) as box:
        install_wizard(box, wheel, net)
        box.run([*WIZARD, "--answers", "/root/answers.toml"], env=WIZARD_ENV, timeout=1800)
        with net.inside():
            https_get("pi.test", net.root_pem(tmp_path / "root.pem"))
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from systemd_container import DEFAULT_CACHE_DIR, Container, _host_run, _safe_rmtree, booted, build_root

REPO = Path(__file__).resolve().parent.parent
# Every package a plan with certbot (HTTP-01, nginx plugin, cron or timer) installs, and sshd for fleets.
OFFLINE_DEBS = ("nginx", "python3-venv", "supervisor", "certbot", "python3-certbot-nginx", "cron",
                "openssh-server")
SAMPLE_PACKAGES = ("flask", "gunicorn")  # the app's default packages (schema: app.packages)
WHEELHOUSE = "/var/cache/piserver-wheels"
OFFLINE_PIP_CONF = f"[global]\nno-index = true\nfind-links = {WHEELHOUSE}\n"
_LAYER_RECIPE = "1"
WIZARD = ["/opt/piserver-wizard/bin/piserver-wizard"]
ACME_BUNDLE_IN_BOX = "/etc/ssl/acme-test-bundle.pem"
# certbot trusts pebble through this bundle; the wizard's own DNS check stays off (nothing to ask).
WIZARD_ENV = {"REQUESTS_CA_BUNDLE": ACME_BUNDLE_IN_BOX, "PISERVER_WIZARD_OFFLINE": "1"}
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _layer_key(suite: str, base: Path) -> str:
    """The layer changes with the base root, the package list, and the wizard's declared dependencies."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    recipe = [_LAYER_RECIPE, suite, base.name, *OFFLINE_DEBS, *SAMPLE_PACKAGES, *deps]
    return hashlib.sha256("|".join(recipe).encode()).hexdigest()[:12]


def offline_roots(suite: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> tuple[Path, Path]:
    """The clean root of `suite` and its offline layer, each built once and cached (a few minutes the first time)."""
    base = build_root(cache_dir, suite)
    layer = cache_dir / f"{suite}-offline-{_layer_key(suite, base)}"
    marker = layer.with_name(layer.name + ".complete")
    with open(cache_dir / ".offline-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            for stale in cache_dir.glob(f"{suite}-offline-*"):  # older recipes: the cache does not grow
                if stale.is_dir():
                    _safe_rmtree(stale)
                else:
                    stale.unlink()
            _build_layer(base, layer, suite)
            marker.write_text(json.dumps({"suite": suite, "debs": OFFLINE_DEBS, "built_at": time.time()}) + "\n")
    return base, layer


def _build_layer(base: Path, layer: Path, suite: str) -> None:
    """Boot the clean root once on the host's network, fetch what the wizard will install, keep the changes."""
    work = Path(os.path.dirname(layer)) / f".layer-{layer.name}"
    _safe_rmtree(work)
    work.mkdir()
    try:
        with booted(base, f"layer-{suite}", free_ports=(), keep=work) as box:
            box.run(["apt-get", "update", "-q"], timeout=900)
            box.run(["apt-get", "install", "-y", "-q", "--download-only", *OFFLINE_DEBS], timeout=1800)
            box.run(["python3", "-m", "venv", "/tmp/fetch"], timeout=300)
            box.run(["/tmp/fetch/bin/pip", "download", "-q", "-d", WHEELHOUSE, "pip", "setuptools", "wheel",
                     *SAMPLE_PACKAGES, *_wizard_dependencies()], timeout=1800)
            box.run(["rm", "-rf", "/tmp/fetch"], timeout=60)
            box.run(["sh", "-c", 'printf "%s" "$1" > /etc/pip.conf', "sh", OFFLINE_PIP_CONF], timeout=30)
        os.rename(work / "upper", layer)
    finally:
        _safe_rmtree(work)


def _wizard_dependencies() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


@dataclass
class Lab:
    """A network namespace with a pebble pair of its own running inside it."""

    netns: str
    state_dir: Path
    acme: dict[str, str]

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """This thread's sockets made from now on live in the lab's namespace (site_checks work unchanged)."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            _setns(target)
            yield
        finally:
            _setns(own)
            os.close(own)
            os.close(target)

    def run(self, argv: list[str], timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        """A host command run inside the namespace (curl, ss, wrk)."""
        return _host_run(["ip", "netns", "exec", self.netns, *argv], timeout=timeout) if check else \
            subprocess.run(["ip", "netns", "exec", self.netns, *argv], capture_output=True, text=True,
                           timeout=timeout)

    def root_pem(self, dest: Path) -> Path:
        """pebble's root of this lab (a new one at every start), to verify the container's certificates."""
        from site_checks import pebble_root

        with self.inside():
            return pebble_root(self.acme, dest)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


@contextlib.contextmanager
def lab(name: str) -> Iterator[Lab]:
    """Make namespace ``pwlab-NAME`` with loopback up, start pebble in it, always remove both afterwards."""
    netns, state = f"pwlab-{name}", Path(f"/run/piserver-lab-{name}")
    subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    _host_run(["ip", "netns", "add", netns], timeout=30)
    env = {"ACME_STATE_DIR": str(state), "ACME_CERTBOT_DIRS": "", "PATH": os.environ["PATH"]}
    try:
        _host_run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], timeout=30)
        up = _host_run(["ip", "netns", "exec", netns, "bash", str(REPO / ".ci/acme-up")], timeout=180, env=env)
        acme = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        yield Lab(netns, state, acme)
    finally:
        subprocess.run(["ip", "netns", "exec", netns, "bash", str(REPO / ".ci/acme-down")], env={**os.environ, **env},
                       capture_output=True, timeout=60)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, timeout=30)
        shutil.rmtree(state, ignore_errors=True)


def install_wizard(box: Container, wheel: Path, net: Lab) -> None:
    """The wizard as README installs it (a root-owned venv in /opt), from the wheel and the wheelhouse; pebble trusted."""
    box.copy_in(wheel, f"/root/{wheel.name}")
    box.run(["python3", "-m", "venv", "/opt/piserver-wizard"], timeout=300)
    box.run(["/opt/piserver-wizard/bin/pip", "install", "-q", f"/root/{wheel.name}"], timeout=900)
    box.copy_in(Path(net.acme["ACME_CA_BUNDLE"]), "/root/pebble-ca.pem")
    box.run(["sh", "-c", f"cat /etc/ssl/certs/ca-certificates.crt /root/pebble-ca.pem > {ACME_BUNDLE_IN_BOX}"],
            timeout=30)


@contextlib.contextmanager
def booted_lab(suite: str, name: str, wheel: Path, keep: Path | None = None) -> Iterator[tuple[Lab, Container]]:
    """The usual pair: a lab, and a container of `suite` booted in it with the wizard installed."""
    base, layer = offline_roots(suite)
    with lab(name) as net, booted(base, name, layers=(layer,), netns=net.netns, keep=keep) as box:
        if not box.path(WIZARD[0]).exists():  # a kept overlay booted again has it already
            install_wizard(box, wheel, net)
        yield net, box
