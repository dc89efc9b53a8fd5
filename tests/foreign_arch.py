"""A Debian userland of another architecture (armhf, arm64), run here through qemu-user and binfmt_misc.

Why: Pi Zero, Zero 2 and older boards often run the 32-bit (armhf) image, where a dependency without a
wheel for the board must install without a compiler. The root is a minbase Debian with python3 and
its venv only (no gcc, no cc), built once per suite and architecture under the same cache as the
systemd containers; each use runs on a throwaway overlay (systemd-nspawn --volatile=overlay), so the
cached root is never written.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from systemd_container import BASE_ENV, DEFAULT_CACHE_DIR, HOST_CA_DIR, _host_run, _safe_rmtree, host_mirror

QEMU = {"armhf": "qemu-arm", "arm64": "qemu-aarch64"}
MACHINE = {"armhf": "armv7l", "arm64": "aarch64"}
PACKAGES = ("python3", "python3-venv", "ca-certificates")
BINFMT = Path("/proc/sys/fs/binfmt_misc")


def binfmt_problem(arch: str) -> str | None:
    """None when binaries of ``arch`` run here; else exactly what stands in the way.

    Registers Debian's qemu-user-static handlers if it can (mounting binfmt_misc first): that needs
    root and a kernel that lets this namespace register interpreters.
    """
    name = QEMU[arch]
    if not (BINFMT / "register").exists():
        done = subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            return f"binfmt_misc cannot be mounted on {BINFMT}: {done.stderr.strip() or done.returncode}"
    if not (BINFMT / name).exists():
        if shutil.which("update-binfmts") is None:
            _host_run(["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=300", "qemu-user-static",
                       "binfmt-support"], timeout=900)
        done = subprocess.run(["update-binfmts", "--enable", name], capture_output=True, text=True)
        if not (BINFMT / name).exists():
            return f"the {name} interpreter cannot be registered: {done.stderr.strip() or done.stdout.strip()}"
    state = (BINFMT / name).read_text().splitlines()[0].strip()
    if state != "enabled":
        return f"{BINFMT / name} is {state}"
    return None


def build_root(arch: str, suite: str = "bookworm", cache_dir: Path = DEFAULT_CACHE_DIR / "foreign") -> Path:
    """A cached minbase root of ``suite`` for ``arch``; built in .build-* and renamed, marker last.

    In a folder of its own: the systemd roots' builder clears stale ``{suite}-*`` and ``.build-*`` beside it."""
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    mirror = host_mirror(suite)
    root = cache_dir / f"{suite}-{arch}-minimal"
    marker = cache_dir / f"{root.name}.complete"
    with open(cache_dir / f".lock-{arch}", "w") as lock:  # not the systemd roots' lock: this build is slow
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and (root / "usr/bin/python3").exists():
            return root
        _safe_rmtree(root)
        build = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
        try:
            started = time.monotonic()
            debs = cache_dir / "debs"
            debs.mkdir(exist_ok=True)
            _host_run(["debootstrap", f"--arch={arch}", "--variant=minbase", f"--cache-dir={debs}",
                       f"--include={','.join(PACKAGES)}", suite, str(build), mirror], timeout=3600)
            for crt in sorted(HOST_CA_DIR.glob("*.crt")):  # the proxy's CA, as for the systemd roots
                (build / HOST_CA_DIR.relative_to("/")).mkdir(parents=True, exist_ok=True)
                shutil.copy2(crt, build / HOST_CA_DIR.relative_to("/") / crt.name)
            _host_run(["chroot", str(build), "update-ca-certificates"], timeout=600)
            _host_run(["chroot", str(build), "apt-get", "clean"], timeout=600)
            build.chmod(0o755)
            build.rename(root)
            marker.write_text(json.dumps({"suite": suite, "arch": arch, "packages": PACKAGES,
                                          "build_seconds": round(time.monotonic() - started, 1)}) + "\n")
        except BaseException:
            _safe_rmtree(build)
            raise
    return root


def run_in(root: Path, argv: list[str], *, binds: tuple[tuple[Path, str], ...] = (), timeout: float = 1800,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """One command in the root (not booted), on a tmpfs overlay that vanishes with it."""
    setenv = [f"--setenv={k}={v}" for k, v in {**BASE_ENV, **(env or {})}.items()]
    bind = [f"--bind-ro={src}:{dest}" for src, dest in binds]
    return subprocess.run(["systemd-nspawn", "-q", "--register=no", "--keep-unit", "--volatile=overlay", "-D", str(root),
                           *setenv, *bind, "--", *argv],
                          capture_output=True, text=True, timeout=timeout, env=BASE_ENV, stdin=subprocess.DEVNULL)
