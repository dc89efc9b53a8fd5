"""Which systems the wizard takes, read from os-release; the nginx syntax that follows from the release."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wizard import preflight
from wizard.facts import Facts
from wizard.release import OsRelease, http2_directive, read_os_release, upstream_version, version_tuple

REPO = Path(__file__).resolve().parent.parent

# As the systems ship them (Raspberry Pi OS 32-bit still says raspbian; its 64-bit image says debian).
RELEASES = {
    "debian12": ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
                 'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n', True),
    "debian13": ('PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\n'
                 'VERSION="13 (trixie)"\nVERSION_CODENAME=trixie\nDEBIAN_VERSION_FULL=13.1\nID=debian\n', True),
    "raspios32": ('PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"\nNAME="Raspbian GNU/Linux"\nVERSION_ID="12"\n'
                  'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=raspbian\nID_LIKE=debian\n', True),
    "raspios64-trixie": ('PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_ID="13"\nVERSION_CODENAME=trixie\n'
                         'ID=debian\n', True),
    "debian11": ('PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\n'
                 'ID=debian\n', False),
    "ubuntu": ('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n'
               'ID=ubuntu\nID_LIKE=debian\n', False),
    "sid": ('PRETTY_NAME="Debian GNU/Linux forky/sid"\nNAME="Debian GNU/Linux"\nID=debian\n', False),
    "empty": ("", False),
}


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_which_releases_are_taken(name: str, tmp_path: Path) -> None:
    text, supported = RELEASES[name]
    path = tmp_path / "os-release"
    path.write_text(text)
    assert read_os_release(str(path)).supported is supported


def test_the_fields_are_read_as_os_release_says(tmp_path: Path) -> None:
    path = tmp_path / "os-release"
    path.write_text(RELEASES["raspios32"][0] + "# a comment\nBROKEN LINE\nQUOTED='it\\'s \\\"x\\\"'\n")
    release = read_os_release(str(path))
    assert release == OsRelease("raspbian", "12", "bookworm", ("debian",), "Raspbian GNU/Linux 12 (bookworm)")
    assert release.describe() == "Raspbian GNU/Linux 12 (bookworm) (ID=raspbian, VERSION_ID=12, VERSION_CODENAME=bookworm)"


def test_a_missing_file_reads_as_nothing(tmp_path: Path) -> None:
    release = read_os_release(str(tmp_path / "nope"))
    assert release == OsRelease() and not release.supported
    assert "ID=?" in release.describe()


def test_codename_alone_names_the_release(tmp_path: Path) -> None:
    """A trixie image from before the release had no VERSION_ID yet: its codename says which it is."""
    assert OsRelease("debian", "", "trixie").supported
    assert not OsRelease("debian", "", "forky").supported


@pytest.mark.parametrize("version, directive", [
    ("1.22.1", False), ("1.25.0", False), ("1.25.1", True), ("1.26.3", True), ("1.27", True), ("", False),
    ("2.0.0", True)])
def test_http2_directive_from_nginx_1_25_1(version: str, directive: bool) -> None:
    assert http2_directive(version) is directive


def test_debian_versions_lose_epoch_and_revision() -> None:
    assert upstream_version("1.26.3-3+deb13u1") == "1.26.3"
    assert upstream_version("1:1.22.1-9+deb12u11") == "1.22.1"
    assert version_tuple("1.26.3~rc1") == (1, 26, 3)


def test_another_system_is_refused_naming_what_was_found() -> None:
    ubuntu = OsRelease("ubuntu", "24.04", "noble", ("debian",), "Ubuntu 24.04.1 LTS")
    refusals = [f for f in preflight.machine(Facts(os_release=ubuntu)) if f.level == "refuse"]
    assert [f.code for f in refusals] == ["os"]
    assert "Ubuntu 24.04.1 LTS (ID=ubuntu, VERSION_ID=24.04" in refusals[0].message
    assert "Debian 12 (bookworm) or 13 (trixie)" in refusals[0].message and "--force" in refusals[0].message
    assert not preflight.machine(Facts(os_release=OsRelease("debian", "13", "trixie")))


@pytest.mark.slow
@pytest.mark.e2e
def test_the_wizard_exits_2_on_another_system(as_root: None, wizard_bin: str, tmp_path: Path) -> None:
    """The real probe, on a machine whose os-release says Ubuntu (bind-mounted in a mount namespace of its
    own, so nothing else sees it). It stops before changing anything; --force goes on, here to its dry run."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    fake = tmp_path / "os-release"
    fake.write_text(RELEASES["ubuntu"][0])
    answers = REPO / "examples" / "answers.toml"
    script = 'mount --bind "$1" /etc/os-release && shift && exec "$@"'
    env = {**os.environ, "PISERVER_WIZARD_OFFLINE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(fake),
                               wizard_bin, "--answers", str(answers), *args],
                              capture_output=True, text=True, timeout=300, env=env)

    refused = run()
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "REFUSED: this is Ubuntu 24.04.1 LTS (ID=ubuntu, VERSION_ID=24.04" in refused.stdout
    assert "refused before changing anything" in refused.stderr
    dry = run("--dry-run")  # the preview still shows the refusal
    assert "REFUSED: this is Ubuntu" in dry.stdout


@pytest.mark.parametrize("version, http2_on", [("1.22.1", False), ("1.26.3", True), ("", False)])
def test_the_tls_site_says_http2_the_way_its_nginx_takes_it(version: str, http2_on: bool) -> None:
    """Trixie's nginx 1.26 warns about `listen ... http2` (the e2e test in a trixie container checks
    `nginx -t` is quiet); bookworm's 1.22 does not know `http2 on;`. The fact decides, per machine."""
    from test_plan_render import build_plan, facts, make_answers

    from wizard.services import Services

    plan = build_plan(make_answers(), facts(nginx_version=version), Services(True))
    tls = plan.step("nginx-tls").files[0].content
    assert ("    http2 on;" in tls) is http2_on
    assert ("listen 443 ssl http2;" in tls) is not http2_on
    assert ("listen [::]:443 ssl http2;" in tls) is not http2_on
