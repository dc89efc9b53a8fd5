"""The sample is the owner's once written: an app.py the app user edited survives a re-run that changes
the domains, and is what the new names serve, over HTTP and over HTTPS with pebble's certificate.

Also the dedicated app user end to end (``create_user = true``: a system user with no login shell, the
app folder in /srv handed to it), and what happens when the app's address is not its own: another app of
the wizard's with the same address or name is refused before anything changes; another program already
answering on it fails the run with that program named (it used to pass, and the site served the other
program's pages: the cause of this test's first failures, an app left by another test on the same port).
"""

from __future__ import annotations

import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import forget_app, wizard_env
from site_checks import http_get, https_get, pebble_root

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "keepme"
FOLDER = Path(f"/srv/{NAME}")
PORT = 4850  # no other test's app uses it (several stay installed after their tests)
ANSWERS = """\
[site]
domains = {domains}
[app]
name = "{name}"
user = "keepme"
create_user = true
directory = "/srv/keepme"
bind = "127.0.0.1:{port}"
workers = 1
[https]
enabled = true
redirect = false
agree_tos = true
acme_server = "{server}"
"""


def run(wizard_bin: str, acme: dict[str, str], answers: Path, domains: list[str], *, name: str = NAME,
        port: int = PORT) -> subprocess.CompletedProcess:
    answers.write_text(ANSWERS.format(domains=str(domains).replace("'", '"'), name=name, port=port,
                                      server=acme["ACME_DIRECTORY_URL"]))
    done = subprocess.run([wizard_bin, "--answers", str(answers)], capture_output=True, text=True,
                          env=wizard_env(acme), timeout=1800, stdin=subprocess.DEVNULL)
    print(done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def served(domain: str, root: Path) -> tuple[str, str]:
    """The page over HTTP and over HTTPS (pebble's chain, the name checked against SNI), via 127.0.0.1."""
    status, _, http_page = http_get(domain)
    assert status == 200, http_page
    status, https_page, _ = https_get(domain, root)
    assert status == 200, https_page
    return http_page, https_page


@pytest.fixture()
def keepme(as_root: None) -> object:
    forget_app(NAME, folder=str(FOLDER))
    yield
    forget_app(NAME, folder=str(FOLDER))


def edit_as_the_app_user(page: Path) -> str:
    """The owner's edit, written as the app user (root never writes in the app folder)."""
    edited = page.read_text().replace("<h1>Hello, World!</h1>", "<h1>My own page</h1>")
    assert edited != page.read_text()
    subprocess.run(["runuser", "-u", NAME, "--", "tee", str(page)], input=edited, text=True, check=True,
                   capture_output=True)
    return edited


def test_an_edited_sample_is_kept_and_served_under_new_names(keepme: None, wizard_bin: str,
                                                             acme: dict[str, str], tmp_path: Path) -> None:
    answers, root = tmp_path / "answers.toml", pebble_root(acme, tmp_path / "root.pem")
    first = run(wizard_bin, acme, answers, ["keep.pi.test"])
    assert first.returncode == 0, first.stdout
    user = pwd.getpwnam(NAME)
    assert user.pw_shell == "/usr/sbin/nologin" and user.pw_uid < 1000  # a system user, no login
    assert FOLDER.stat().st_uid == user.pw_uid
    assert all("<title>keepme</title>" in page and "Hello, World!" in page for page in served("keep.pi.test", root))

    page = FOLDER / "app.py"
    edited = edit_as_the_app_user(page)
    assert page.stat().st_uid == user.pw_uid
    again = run(wizard_bin, acme, answers, ["keep.pi.test", "www.keep.pi.test"])
    assert again.returncode == 0, again.stdout
    kept = f'kept {page}: it was changed since the wizard wrote it, so it is yours now ' \
           '(set app.source = "existing" and the wizard stops writing the sample)'
    assert kept in again.stdout  # said on the screen, not only in the log
    assert "change: domains: +www.keep.pi.test" in again.stdout
    assert page.read_text() == edited
    for domain in ("keep.pi.test", "www.keep.pi.test"):  # the new name too, from this app's own gunicorn
        for text in served(domain, root):
            assert "<title>keepme</title>" in text and "My own page" in text and "Hello, World!" not in text

    third = run(wizard_bin, acme, answers, ["keep.pi.test", "www.keep.pi.test"])  # nothing left to do
    assert third.returncode == 0, third.stdout
    assert "Write the app's files ... " in third.stdout and kept in third.stdout  # already done, still said
    assert page.read_text() == edited


def test_an_address_or_name_of_another_app_is_refused(keepme: None, wizard_bin: str, acme: dict[str, str],
                                                      tmp_path: Path) -> None:
    assert run(wizard_bin, acme, tmp_path / "a.toml", ["keep.pi.test"]).returncode == 0
    state = Path("/var/lib/piserver-wizard/state.json").read_text()
    other = run(wizard_bin, acme, tmp_path / "b.toml", ["www.keep.pi.test", "KEEP.pi.test"], name="keepyou")
    assert other.returncode == 2  # refused, as a wrong answer is
    assert f"app.bind: 127.0.0.1:{PORT} is already the address of the app keepme on this Pi" in other.stdout
    assert "site.domains: keep.pi.test is already served by the app keepme on this Pi" in other.stdout
    assert "refused before changing anything" in other.stderr
    assert Path("/var/lib/piserver-wizard/state.json").read_text() == state
    assert not Path("/etc/nginx/sites-available/keepyou").exists()


def test_an_address_another_program_answers_on_fails_the_run(keepme: None, wizard_bin: str,
                                                             acme: dict[str, str], tmp_path: Path) -> None:
    squatter = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(PORT + 1)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        failed = run(wizard_bin, acme, tmp_path / "a.toml", ["keep.pi.test"], port=PORT + 1)
    finally:
        squatter.terminate()
        squatter.wait(timeout=30)
    assert failed.returncode == 1
    assert f"127.0.0.1:{PORT + 1} is answered by another program (pid {squatter.pid}: " in failed.stdout
    assert "not by keepme: give app.bind an address no other program uses" in failed.stdout
    assert "Connection in use" in failed.stdout or "Address already in use" in failed.stdout  # gunicorn's log
    resumed = run(wizard_bin, acme, tmp_path / "a.toml", ["keep.pi.test"], port=PORT + 1)
    assert resumed.returncode == 0, resumed.stdout
    root = pebble_root(acme, tmp_path / "root.pem")
    assert all("<title>keepme</title>" in page for page in served("keep.pi.test", root))


def test_a_name_another_nginx_site_answers_fails_the_run(keepme: None, wizard_bin: str, acme: dict[str, str],
                                                         tmp_path: Path) -> None:
    """A stale site (of an app removed by hand, or the owner's own) that names www.keep.pi.test and comes
    first in sites-enabled: nginx -t only warns, and nginx answers the name from that site."""
    assert run(wizard_bin, acme, tmp_path / "a.toml", ["keep.pi.test"]).returncode == 0
    edit_as_the_app_user(FOLDER / "app.py")  # the owner's page: a 200 from any site would pass for it
    stale = Path("/etc/nginx/sites-enabled/000-piserver-test-stale")
    stale.write_text("server {\n    listen 80;\n    server_name www.keep.pi.test;\n    return 200 stale;\n}\n")
    try:
        subprocess.run(["service", "nginx", "reload"], check=True, capture_output=True, timeout=60)
        failed = run(wizard_bin, acme, tmp_path / "a.toml", ["keep.pi.test", "www.keep.pi.test"])
        assert failed.returncode == 1
        assert "http://www.keep.pi.test/ is answered by another nginx site, not this app's" in failed.stdout
        assert 'conflicting server name "www.keep.pi.test"' in failed.stdout
        assert 'sudo grep -rl "www.keep.pi.test" /etc/nginx/sites-enabled/' in failed.stdout
        assert http_get("keep.pi.test")[0] == 200  # the rest of the site still served
    finally:
        stale.unlink()
        subprocess.run(["service", "nginx", "reload"], check=True, capture_output=True, timeout=60)
    resumed = run(wizard_bin, acme, tmp_path / "a.toml", ["keep.pi.test", "www.keep.pi.test"])
    assert resumed.returncode == 0, resumed.stdout
    root = pebble_root(acme, tmp_path / "root.pem")
    assert all("<title>keepme</title>" in page for page in served("www.keep.pi.test", root))
