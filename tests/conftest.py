"""Shared fixtures: the installed console script, the local ACME CA, and root-only guards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# No test may send traffic beyond this machine: the wizard's internet checks (DNS of the domains) are off.
os.environ["PISERVER_WIZARD_OFFLINE"] = "1"
# The console script of the venv running the tests comes first, however pytest was started (scripts/test
# or .venv-test/bin/pytest directly): the tests drive the installed wheel, never another copy on PATH.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
ACME_ENV = Path("/run/piserver-acme/env")


@pytest.fixture(scope="session")
def wizard_bin() -> str:
    """The console script of the installed wheel: the tests that matter never run the source tree."""
    found = shutil.which("piserver-wizard")
    if not found:
        pytest.fail("piserver-wizard is not on PATH: run the suite with scripts/test (it installs the wheel)")
    return found


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A progress store of the test's own (PISERVER_WIZARD_STATE_DIR): the machine's is never touched.

    Modules whose every test runs the engine or the TUI use it for all: ``pytestmark = usefixtures``."""
    folder = tmp_path / "state"
    monkeypatch.setenv("PISERVER_WIZARD_STATE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: it changes the system (CI runs it as root)")


def _acme_facts() -> dict[str, str]:
    facts = {}
    for line in ACME_ENV.read_text().splitlines():
        key, _, value = line.partition("=")
        if key:
            facts[key] = value
    return facts


@pytest.fixture(scope="session")
def acme(as_root: None) -> dict[str, str]:
    """pebble on loopback (started by .ci/acme-up); plus a CA bundle that trusts it and the system's CAs.

    The wizard passes its environment on, so REQUESTS_CA_BUNDLE reaches certbot (to trust pebble) and
    pip (which must still trust the package index): hence the system bundle plus pebble's CA in one file.
    """
    subprocess.run(["bash", str(REPO / ".ci" / "acme-up")], check=True, capture_output=True, timeout=120)
    facts = _acme_facts()
    bundle = Path(facts["ACME_CA_BUNDLE"]).with_name("requests-bundle.pem")  # readable by the app user too
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    bundle.write_bytes((system.read_bytes() if system.exists() else b"") + Path(facts["ACME_CA_BUNDLE"]).read_bytes())
    bundle.chmod(0o644)
    facts["BUNDLE"] = str(bundle)
    return facts


def wizard_env(acme: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if acme:
        env["REQUESTS_CA_BUNDLE"] = acme["BUNDLE"]
    return env


def ensure_user(name: str = "pi") -> None:
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)


def python() -> str:
    return sys.executable


def forget_app(name: str, folder: str | None = None) -> None:
    """Remove what the wizard set up for one app, so a test starts from a machine that never had it."""
    import shutil as _shutil

    conf = Path(f"/etc/supervisor/conf.d/{name}.conf")
    if conf.exists():
        conf.unlink()
        subprocess.run(["supervisorctl", "update"], capture_output=True, timeout=60)
    for path in (Path(f"/etc/nginx/sites-enabled/{name}"), Path(f"/etc/nginx/sites-available/{name}")):
        if path.is_symlink() or path.exists():
            path.unlink()
    subprocess.run(["service", "nginx", "reload"], capture_output=True, timeout=60)
    if Path(f"/etc/letsencrypt/renewal/{name}.conf").exists():
        subprocess.run(["certbot", "delete", "-n", "--cert-name", name], capture_output=True, timeout=120)
    for path in (folder or f"/home/pi/{name}", f"/etc/piserver-wizard/{name}", f"/var/log/{name}"):
        _shutil.rmtree(path, ignore_errors=True)
    Path(f"/var/lib/piserver-wizard/apps/{name}.toml").unlink(missing_ok=True)
    from wizard.state import State

    state = State.load()
    state.steps = {key: record for key, record in state.steps.items() if not key.startswith(f"{name}/")}
    state.save()
