"""nginx -t and gixy-ng over config files, in a private prefix or over the machine's own /etc/nginx."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path


def wrap(folder: Path, files: dict[str, str]) -> Path:
    """An nginx.conf in ``folder`` whose http block includes ``files`` (name -> text), as sites-enabled is."""
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    (folder / "sites").mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / "sites" / name).write_text(text.replace("/var/log/nginx/", f"{folder}/logs/"))
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log {folder}/logs/access.log;\n"
        f"  include {folder}/sites/*;\n}}\n")
    return conf


def nginx_t(conf: Path) -> subprocess.CompletedProcess:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return subprocess.run([nginx, "-t", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True)


def gixy(conf: Path) -> list[dict]:
    """gixy-ng's findings (every severity) for a whole config, each with the file it is in."""
    binary = Path(sys.executable).with_name("gixy")
    done = subprocess.run([str(binary if binary.exists() else "gixy"), "-f", "json", str(conf)],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().startswith("["), done.stdout + done.stderr
    return json.loads(done.stdout)


def summary(findings: list[dict]) -> list[str]:
    return [f"{f['severity']} {f['plugin']} in {f['file']}:{f.get('line')}: {f['reason']}" for f in findings]


def forget_catchall() -> None:
    """Take the wizard's catch-all out of this machine's nginx (tests only: a real machine keeps it)."""
    for path in ("/etc/nginx/sites-enabled/piserver-wizard-catchall",
                 "/etc/nginx/sites-available/piserver-wizard-catchall"):
        Path(path).unlink(missing_ok=True)
    subprocess.run(["service", "nginx", "reload"], capture_output=True, timeout=60)
