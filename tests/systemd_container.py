"""Boot a real Debian (bookworm or trixie) with systemd as PID 1 in a systemd-nspawn container.

Why: the wizard drives nginx/supervisor/certbot through systemctl on a Raspberry Pi,
where systemd is PID 1.  The machine running the tests does not run systemd, so the
tests boot a throwaway container of each supported release and run the wizard inside it.

Usage::

    root = build_root(DEFAULT_CACHE_DIR, "trixie")  # cached per suite; ~35-60 s the first time
    with booted(root, "piserver-test") as c:      # ~5 s; always torn down
        c.run(["apt-get", "install", "-y", "nginx"], timeout=600)
        c.copy_in(Path("dist/x.whl"), "/tmp/x.whl")

Every boot runs on a private overlayfs (lower = cached clean root, upper = a temp
dir), so each test starts from the clean root and the cached root is never written.

The container shares the host's network namespace (no veth): a port bound inside
(e.g. nginx on :80) is bound on the host.  Hence the port-80/443 pre-check.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterator

DEFAULT_CACHE_DIR = Path("/var/cache/piserver-wizard-tests")
SUITE = "bookworm"  # the default; SUITES are the releases the wizard supports (Debian 12 and 13)
SUITES = ("bookworm", "trixie")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "systemd", "systemd-sysv", "dbus",
    "python3", "python3-venv", "ca-certificates", "procps", "cron",
)
HOST_TOOLS = {"debootstrap": "debootstrap", "systemd-nspawn": "systemd-container"}
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
HOST_PIP_CONF = Path("/etc/pip.conf")
# Bump when the build recipe changes so stale cached roots are not reused.
_RECIPE_VERSION = "3"

# Commands inside get a clean environment: the host's env (pyenv PATH, PIP_FIND_LINKS,
# SSL_CERT_FILE, ...) would otherwise leak through nsenter and confuse apt/pip.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "DEBIAN_FRONTEND": "noninteractive",
}


class ContainerError(RuntimeError):
    """Boot/teardown/host-setup failure of the test container."""


class ContainerCommandError(subprocess.CalledProcessError):
    """A command inside the container failed; str() includes its output (for test logs)."""

    def __str__(self) -> str:
        def tail(s: str | None) -> str:
            return (s or "")[-3000:]
        return (f"{super().__str__()}\n--- stdout ---\n{tail(self.stdout)}"
                f"\n--- stderr ---\n{tail(self.stderr)}")


# --------------------------------------------------------------------------- host helpers

def _host_run(argv: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    """Run a host command with a clean env; raise with its output on failure."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env={**BASE_ENV, **kw.pop("env", {})}, **kw)
    if p.returncode != 0:
        raise ContainerCommandError(p.returncode, argv, p.stdout, p.stderr)
    return p


def ensure_host_tools() -> None:
    """apt-get install debootstrap/systemd-container on the host if missing."""
    missing = [pkg for tool, pkg in HOST_TOOLS.items() if shutil.which(tool) is None]
    if missing:
        _host_run(["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=300", *missing],
                  timeout=900)


def host_mirror(suite: str = SUITE) -> str:
    """First enabled Debian mirror for `suite` in the host's apt sources (deb822 or one-line)."""
    d = Path("/etc/apt/sources.list.d")
    files = [Path("/etc/apt/sources.list"), *sorted(d.glob("*.list")), *sorted(d.glob("*.sources"))]
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line or line[0].isspace():
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
                if ("deb" in fields.get("types", "").split()
                        and suite in fields.get("suites", "").split()
                        and fields.get("enabled", "yes").lower() != "no"
                        and fields.get("uris")):
                    return fields["uris"].split()[0].rstrip("/")
        else:
            for line in text.splitlines():
                line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(line) >= 3 and line[0] == "deb" and line[2] == suite:
                    return line[1].rstrip("/")
    return DEFAULT_MIRROR


def _mounts_under(path: Path) -> list[str]:
    """Mount points at or below `path` (deepest first), from /proc/self/mountinfo."""
    prefix = str(path.resolve())
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4].replace("\\040", " ")
        if mp == prefix or mp.startswith(prefix + "/"):
            out.append(mp)
    return sorted(out, key=len, reverse=True)


def _safe_rmtree(path: Path) -> None:
    """Remove a (possibly half-built) root: unmount proc/sys/dev left by debootstrap first,
    and never cross into another filesystem (an rm -rf through a bind-mounted /dev is fatal)."""
    if not path.exists() and not path.is_symlink():
        return
    for mp in _mounts_under(path):
        subprocess.run(["umount", "-l", mp], capture_output=True)
    if _mounts_under(path):
        raise ContainerError(f"refusing to delete {path}: still has mounts {_mounts_under(path)}")
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


# --------------------------------------------------------------------------- root build

def _recipe_key(mirror: str, suite: str = SUITE) -> str:
    """Hash of everything that goes into the root, so a changed recipe/CA gives a new root."""
    h = hashlib.sha256()
    h.update(f"{_RECIPE_VERSION}|{suite}|{mirror}|{','.join(PACKAGES)}".encode())
    for crt in sorted(HOST_CA_DIR.glob("*.crt")):
        h.update(crt.name.encode() + crt.read_bytes())
    if HOST_PIP_CONF.exists():
        h.update(HOST_PIP_CONF.read_bytes())
    return h.hexdigest()[:12]


def build_root(cache_dir: Path = DEFAULT_CACHE_DIR, suite: str = SUITE) -> Path:
    """Return a clean root of Debian `suite` under cache_dir, building it once (per suite).

    Built by debootstrap into cache_dir/.build-*, finished, then renamed into place;
    the marker `<root>.complete` is written last.  A root without marker (or any
    leftover .build-*) is deleted and rebuilt, so an interrupted build never counts.
    """
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    mirror = host_mirror(suite)
    key = _recipe_key(mirror, suite)
    root = cache_dir / f"{suite}-{key}"
    marker = cache_dir / f"{suite}-{key}.complete"
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # serialise concurrent builders (e.g. pytest-xdist)
        if marker.exists() and (root / "sbin/init").exists():
            return root
        marker.unlink(missing_ok=True)
        _safe_rmtree(root)
        # Leftover half builds, and roots of older recipes (so the cache does not grow).
        for stale in [*cache_dir.glob(".build-*"), *cache_dir.glob(f"{suite}-*")]:
            if stale.is_dir() and stale != root:
                (cache_dir / f"{stale.name}.complete").unlink(missing_ok=True)
                _safe_rmtree(stale)
        ensure_host_tools()
        build = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
        try:
            debs = cache_dir / "debs"  # debootstrap's .deb cache makes rebuilds cheaper
            debs.mkdir(exist_ok=True)
            started = time.monotonic()
            _host_run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
                       f"--include={','.join(PACKAGES)}", suite, str(build), mirror],
                      timeout=1800)
            _finish_root(build)
            os.rename(build, root)
            marker.write_text(json.dumps({
                "suite": suite, "mirror": mirror, "packages": PACKAGES,
                "built_at": time.time(), "build_seconds": round(time.monotonic() - started, 1),
            }) + "\n")
        except BaseException:
            _safe_rmtree(build)
            raise
    return root


def _finish_root(build: Path) -> None:
    """Trust the host's proxy CA and reuse its pip.conf (else pip inside fails
    CERTIFICATE_VERIFY_FAILED); drop apt's .deb cache to keep the root small."""
    ca_dst = build / HOST_CA_DIR.relative_to("/")
    ca_dst.mkdir(parents=True, exist_ok=True)
    for crt in sorted(HOST_CA_DIR.glob("*.crt")):
        shutil.copy2(crt, ca_dst / crt.name)
    if HOST_PIP_CONF.exists():
        shutil.copy2(HOST_PIP_CONF, build / "etc/pip.conf")
    _host_run(["chroot", str(build), "update-ca-certificates"], timeout=120)
    _host_run(["chroot", str(build), "apt-get", "clean"], timeout=120)
    # mkdtemp made the root 0700: '/' must be 0755 or www-data/_apt cannot traverse it.
    build.chmod(0o755)
    # An empty machine-id makes systemd generate a fresh transient one per boot.
    (build / "etc/machine-id").write_text("")
    # apt-daily timers would grab the dpkg lock mid-test ("Could not get lock"): mask them.
    units = build / "etc/systemd/system"
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        (units / unit).unlink(missing_ok=True)
        (units / unit).symlink_to("/dev/null")
    # debootstrap copied the host's hostname; drop it so --machine=NAME is the hostname.
    (build / "etc/hostname").unlink(missing_ok=True)
    (build / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n")
    _safe_rmtree_contents(build / "var/lib/apt/lists", keep={"lock", "partial", "auxfiles"})


def _safe_rmtree_contents(d: Path, keep: set[str]) -> None:
    """Delete files in d except `keep` (stale package lists would be 'apt-get update'd anyway)."""
    if d.is_dir():
        for p in d.iterdir():
            if p.name not in keep and p.is_file():
                p.unlink()


# --------------------------------------------------------------------------- ports

def check_ports_free(ports: tuple[int, ...] = (80, 443)) -> None:
    """Raise naming the holder if a TCP port the container will bind is already listened on.

    The container shares the host network namespace, so e.g. a host nginx on :80 would
    make the container's nginx fail to start (and the tests would talk to the wrong one).
    """
    out = _host_run(["ss", "-Hltnp"], timeout=30).stdout
    busy = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 4:
            continue
        port = cols[3].rsplit(":", 1)[-1]
        if port.isdigit() and int(port) in ports:
            holders = re.findall(r'\("([^"]+)",pid=(\d+)', line)
            who = ", ".join(f"{n} (pid {p})" for n, p in holders) or "unknown process"
            busy.append(f"port {port} ({cols[3]}) held by {who}")
    if busy:
        raise ContainerError("host ports needed by the systemd test container are busy: "
                             + "; ".join(busy) + " — stop it (the container shares the host network)")


# --------------------------------------------------------------------------- container

class Container:
    """A booted container: run commands via nsenter into its PID 1's namespaces."""

    def __init__(self, name: str, root: Path, nspawn: subprocess.Popen, pid1: int,
                 log_path: Path) -> None:
        self.name = name
        self.root = root          # host path of the container's (overlay) root
        self.nspawn = nspawn
        self.pid1 = pid1          # host PID of the container's systemd
        self.log_path = log_path  # nspawn + console output

    def path(self, p: str) -> Path:
        """Host path of container path `p` (for reading files; the container's absolute
        symlinks are NOT resolved inside the root — use copy_in/run to write)."""
        return self.root / p.lstrip("/")

    def run(self, argv: list[str], timeout: float, check: bool = True,
            env: dict[str, str] | None = None, input: str | None = None
            ) -> subprocess.CompletedProcess:
        """Run argv as root inside the container (clean env + `env`), capture text output."""
        return self._run(argv, timeout, check, env, input.encode() if input is not None else None,
                         text=True)

    def _run(self, argv: list[str], timeout: float, check: bool, env: dict[str, str] | None,
             data: bytes | None, text: bool) -> subprocess.CompletedProcess:
        full = ["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", "--", *argv]
        # Own session/process group, so on timeout we can find and kill the command tree.
        proc = subprocess.Popen(full, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**BASE_ENV, **(env or {})}, start_new_session=True)
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_command_tree(proc)
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
        so, se = (out.decode(errors="replace"), err.decode(errors="replace")) if text else (out, err)
        cp = subprocess.CompletedProcess(argv, proc.returncode, so, se)
        if check and proc.returncode != 0:
            raise ContainerCommandError(proc.returncode, argv, so, se)
        return cp

    def copy_in(self, src: Path, dest_in_root: str, mode: int | None = None) -> None:
        """Copy a host file/dir to `dest_in_root` (cp semantics: dest is the new name),
        owned by root.  Streams a tar through nsenter so the container's own symlinks
        (e.g. /etc/resolv.conf) resolve inside it and a write can never escape to the host."""
        src = Path(src)
        dest = "/" + dest_in_root.strip("/")
        parent, name = dest.rsplit("/", 1)
        buf = io.BytesIO()

        def owner(ti: tarfile.TarInfo) -> tarfile.TarInfo:
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            if mode is not None and ti.name == name:
                ti.mode = mode
            return ti
        with tarfile.open(fileobj=buf, mode="w") as tf:
            tf.add(str(src), arcname=name, filter=owner)
        self._run(["sh", "-c", 'mkdir -p "$1" && tar -x -f - -C "$1"', "sh", parent or "/"],
                  timeout=300, check=True, env=None, data=buf.getvalue(), text=True)

    def system_state(self) -> str:
        """`systemctl is-system-running` inside (running/degraded/starting/...)."""
        return self.run(["systemctl", "is-system-running"], timeout=30, check=False).stdout.strip()


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the comm field: [state, ppid, pgrp, ...]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _kill_command_tree(proc: subprocess.Popen, grace: float = 10) -> None:
    """Kill a timed-out `nsenter ... CMD`: SIGKILL everything in its process group EXCEPT
    nsenter first, so nsenter reaps CMD.  (Killing nsenter first orphans CMD to the host's
    PID 1, which here does not reap: CMD stays a zombie in the container and stalls its
    shutdown by ~10 s.)"""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != proc.pid:
            st = _proc_stat(int(entry))
            if st and st[2] == str(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry), signal.SIGKILL)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _find_pid1(nspawn_pid: int) -> int | None:
    """The container's systemd: nspawn's child that runs in a different PID namespace."""
    own_ns = os.readlink("/proc/self/ns/pid")
    for c in _children(nspawn_pid):
        try:
            if (os.readlink(f"/proc/{c}/ns/pid") != own_ns
                    and Path(f"/proc/{c}/comm").read_text().strip() == "systemd"):
                return c
        except OSError:
            continue
    return None


def _log_tail(log: Path, n: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-n:]
    except OSError:
        return ""


@contextlib.contextmanager
def booted(root: Path, name: str, timeout: float = 60,
           free_ports: tuple[int, ...] = (80, 443), keep: Path | None = None,
           layers: tuple[Path, ...] = (), netns: str | None = None) -> Iterator[Container]:
    """Boot `root` (never modified: writes go to a temp overlay upper dir) with systemd as
    PID 1, wait for running/degraded, yield a Container, and always shut it down and
    remove the overlay, even if the body raised.  `free_ports` must not be listened on
    by the host (shared network namespace); pass () to skip the check.  `keep`: an overlay
    folder of the caller's, kept after shutdown, so booting it again is the same machine
    rebooted (the caller removes it).  `layers`: read-only folders laid over `root`, top
    first (container_lab's offline package caches).  `netns`: a network namespace of the
    caller's (``ip netns add``) the container joins instead of the host's (then no port
    check is needed: nothing it binds reaches the host)."""
    root = Path(root).resolve()
    if not (root / "sbin/init").exists():
        raise ContainerError(f"{root} is not a built root (no /sbin/init)")
    if free_ports and netns is None:
        check_ports_free(free_ports)
    if shutil.which("systemd-nspawn") is None:
        ensure_host_tools()
    # Scratch on the same fs as the cache (not tmpfs: apt installs can be large).
    work = keep or Path(tempfile.mkdtemp(prefix=f"run-{name}-", dir=root.parent))
    merged, upper, ovl_work = work / "root", work / "upper", work / "work"
    for d in (merged, upper, ovl_work):
        d.mkdir(exist_ok=True)
    logs = root.parent / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{name}.log"
    nspawn: subprocess.Popen | None = None
    pid1: int | None = None
    try:
        _host_run(["mount", "-t", "overlay", "overlay", "-o",
                   f"lowerdir={':'.join(str(Path(layer).resolve()) for layer in (*layers, root))},upperdir={upper},workdir={ovl_work}", str(merged)],
                  timeout=30)
        with open(log_path, "wb") as log:
            nspawn = subprocess.Popen(
                ["systemd-nspawn", "-b", "-D", str(merged), "--register=no", "--keep-unit",
                 f"--machine={name}", "--console=read-only",
                 *([f"--network-namespace-path=/run/netns/{netns}"] if netns else [])],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=BASE_ENV, start_new_session=True)
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if nspawn.poll() is not None:
                raise ContainerError(f"systemd-nspawn exited {nspawn.returncode} during boot; "
                                     f"log {log_path}:\n{_log_tail(log_path)}")
            pid1 = pid1 or _find_pid1(nspawn.pid)
            if pid1:
                c = Container(name, merged, nspawn, pid1, log_path)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    state = c.system_state()
                if state in ("running", "degraded"):
                    break
            time.sleep(0.25)
        else:
            raise ContainerError(f"container {name} not up after {timeout}s (pid1={pid1}, "
                                 f"state={state!r}); log {log_path}:\n{_log_tail(log_path)}")
        yield c
    finally:
        _teardown(nspawn, pid1)
        if keep is None:
            with contextlib.suppress(Exception):
                _safe_rmtree(work)
        else:
            subprocess.run(["umount", "-l", str(merged)], capture_output=True)


def _teardown(nspawn: subprocess.Popen | None, pid1: int | None, grace: float = 30) -> None:
    """SIGTERM nspawn (clean container shutdown), then SIGKILL; also kill the container's
    PID 1, because a SIGKILLed nspawn leaves its container running (orphaned)."""
    if nspawn is None:
        return
    if nspawn.poll() is None:
        nspawn.send_signal(signal.SIGTERM)
        try:
            nspawn.wait(grace)
        except subprocess.TimeoutExpired:
            if pid1:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid1, signal.SIGKILL)  # kills the whole container PID namespace
            nspawn.kill()
            nspawn.wait(10)
    if pid1:
        for _ in range(100):  # the PID namespace dies with its init; wait for it
            if not _alive(pid1):  # a zombie counts as dead (its reaper may be the host's)
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid1, signal.SIGKILL)
            time.sleep(0.1)
