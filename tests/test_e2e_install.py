"""The whole stack, installed for real on this machine by the installed console script.

nginx, supervisor, gunicorn, Flask and certbot with a certificate from pebble (Let's Encrypt's test CA)
on loopback; then the page is fetched over HTTP and HTTPS as a visitor would.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nginx_checks import forget_catchall, gixy, summary

from conftest import ensure_user, forget_app, wizard_env
from site_checks import curl, http_get, https_get, https_head, pebble_root, tree_fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DOMAINS = ["e2e.test", "www.e2e.test"]
ANSWERS = """\
[system]
update_packages = true
remove_apache = true
[site]
domains = ["e2e.test", "www.e2e.test"]
disable_default_site = true
[app]
name = "e2e"
user = "pi"
directory = "/home/pi/e2e"
source = "sample"
wsgi = "app:app"
workers = 3
bind = "127.0.0.1:4400"
packages = ["flask", "gunicorn"]
[https]
enabled = true
email = ""
agree_tos = true
mode = "certonly"
acme_server = "{server}"
redirect = true
renewal = "auto"
cron_schedule = "30 4 1 * *"
"""
REPO = Path(__file__).resolve().parent.parent
WATCHED = ["/etc/nginx", "/etc/supervisor", "/etc/letsencrypt", "/home/pi/e2e", "/etc/cron.d",
           "/etc/piserver-wizard"]


def run_wizard(wizard_bin: str, answers: Path, acme: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([wizard_bin, "--answers", str(answers), *extra], capture_output=True, text=True,
                          env=wizard_env(acme), timeout=1800, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def installed(wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    forget_app("e2e")  # a first run for real, whatever an earlier run of the suite left
    folder = tmp_path_factory.mktemp("e2e")
    answers = folder / "answers.toml"
    answers.write_text(ANSWERS.format(server=acme["ACME_DIRECTORY_URL"]))
    started = time.monotonic()
    first = run_wizard(wizard_bin, answers, acme)
    elapsed = time.monotonic() - started
    print(f"\nfirst run: {elapsed:.1f} s\n{first.stdout}\n{first.stderr}")
    assert first.returncode == 0, first.stdout + first.stderr
    yield {"answers": answers, "first": first, "root": pebble_root(acme, folder / "root.pem"),
           "elapsed": elapsed}
    forget_catchall()  # a shared machine: the next suite (of another version) starts without it


def test_http_redirects_to_https(installed: dict) -> None:
    for domain in DOMAINS:
        status, headers, _ = http_get(domain)
        assert status == 301
        assert headers["Location"] == f"https://{domain}/"


def test_https_serves_the_app_with_a_pebble_certificate(installed: dict) -> None:
    for domain in DOMAINS:
        status, text, cert = https_get(domain, installed["root"])
        assert status == 200
        assert "Hello, World!" in text
        names = {value for kind, value in cert["subjectAltName"] if kind == "DNS"}
        assert names == set(DOMAINS)
        assert "Server: nginx\r\n" in text  # server_tokens off: no version


def test_static_files_are_served_by_nginx(installed: dict) -> None:
    status, text, _ = https_get(DOMAINS[0], installed["root"], "/static/style.css")
    assert status == 200 and "font-family" in text


def test_gunicorn_runs_as_the_app_user_on_loopback(installed: dict) -> None:
    out = subprocess.run(["ps", "-ww", "-eo", "user:20,args"], capture_output=True, text=True, check=True).stdout
    lines = [line for line in out.splitlines() if "gunicorn" in line and "/home/pi/e2e/venv" in line]
    assert len(lines) == 1 + 3  # the arbiter and three workers
    assert all(line.split()[0] == "pi" for line in lines)
    assert all("--bind 127.0.0.1:4400" in line for line in lines)
    status = subprocess.run(["supervisorctl", "status", "e2e"], capture_output=True, text=True).stdout
    assert "RUNNING" in status


def test_secret_key_is_private_and_reaches_the_app(installed: dict) -> None:
    secret = Path("/home/pi/e2e/.secret_key")
    st = secret.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == int(
        subprocess.run(["id", "-u", "pi"], capture_output=True, text=True).stdout)
    key = secret.read_text().strip()
    assert len(key) == 64
    # gunicorn reads its config as the app user and exports raw_env to the app (os.environ, not exec's env).
    read = subprocess.run(
        ["runuser", "-u", "pi", "--", "/home/pi/e2e/venv/bin/python", "-c",
         "import runpy; print(runpy.run_path('/etc/piserver-wizard/e2e/gunicorn.conf.py')['raw_env'])"],
        capture_output=True, text=True, check=True).stdout
    assert read.strip() == repr([f"SECRET_KEY={key}"])
    nobody = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(secret)], capture_output=True)
    assert nobody.returncode != 0
    stdout = installed["first"].stdout
    log_path = re.search(r"full log: (\S+)", stdout).group(1)  # type: ignore[union-attr]
    for path in [Path(log_path), Path("/var/lib/piserver-wizard/state.json"),
                 Path("/var/lib/piserver-wizard/answers.toml"), Path("/etc/supervisor/conf.d/e2e.conf")]:
        assert key not in path.read_text(), path
    assert key not in stdout


def test_state_and_log_are_private(installed: dict) -> None:
    log_path = re.search(r"full log: (\S+)", installed["first"].stdout).group(1)  # type: ignore[union-attr]
    for path in (Path(log_path), Path("/var/lib/piserver-wizard/state.json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_one_renewal_job(installed: dict) -> None:
    jobs = [p for p in Path("/etc/cron.d").iterdir() if "certbot" in p.read_text() and "renew" in p.read_text()
            and "." not in p.name]
    systemd = Path("/run/systemd/system").is_dir()
    if systemd:
        assert jobs == []
    else:
        assert [p.name for p in jobs] == ["piserver-wizard-certbot"]
        assert "30 4 1 * * root certbot renew --quiet" in jobs[0].read_text()
    assert os.access("/etc/letsencrypt/renewal-hooks/deploy/piserver-wizard-reload-nginx", os.X_OK)


def test_same_answers_again_changes_nothing(installed: dict, wizard_bin: str, acme: dict[str, str]) -> None:
    before = tree_fingerprint(*WATCHED)
    started = time.monotonic()
    again = run_wizard(wizard_bin, installed["answers"], acme)
    elapsed = time.monotonic() - started
    print(f"\nno-op re-run: {elapsed:.2f} s against a first run of {installed['elapsed']:.1f} s")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to do" in again.stdout
    assert tree_fingerprint(*WATCHED) == before


def test_dry_run_changes_nothing(installed: dict, wizard_bin: str, acme: dict[str, str]) -> None:
    before = tree_fingerprint(*WATCHED, "/var/lib/piserver-wizard")
    dry = run_wizard(wizard_bin, installed["answers"], acme, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "already done" in dry.stdout
    assert tree_fingerprint(*WATCHED, "/var/lib/piserver-wizard") == before


# --- the site as a reviewer grades it: the catch-all, TLS, headers, caching, what the app sees

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "strict-origin-when-cross-origin",
                    "content-security-policy": "frame-ancestors 'self'", "x-frame-options": "SAMEORIGIN"}
CATCHALL = Path("/etc/nginx/sites-available/piserver-wizard-catchall")


def test_an_unknown_name_gets_no_http_response(installed: dict) -> None:
    for host in ("unknown.test", "127.0.0.1"):
        for path in ("/", "/.well-known/acme-challenge/anything"):
            done = curl("-o", "/dev/null", "-H", f"Host: {host}", f"http://127.0.0.1{path}")
            assert done.returncode == 52, (host, path, done.stderr)  # "Empty reply": 444 closes, says nothing


def test_the_challenge_path_is_still_served_for_our_names(installed: dict) -> None:
    for domain in DOMAINS:
        status, _, _ = http_get(domain, "/.well-known/acme-challenge/not-there")
        assert status == 404  # from the webroot, over plain HTTP: not redirected, not closed


def test_an_unknown_name_gets_no_tls_handshake(installed: dict) -> None:
    for target in (["--resolve", "unknown.test:443:127.0.0.1", "https://unknown.test/"], ["https://127.0.0.1/"]):
        done = curl("-k", "-o", "/dev/null", *target)
        assert done.returncode == 35, done.stderr  # the handshake itself is refused
        assert "unrecognized name" in done.stderr, done.stderr


def test_another_host_over_our_handshake_is_misdirected(installed: dict) -> None:
    done = curl("-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(installed["root"]),
                "--resolve", "e2e.test:443:127.0.0.1", "-H", "Host: unknown.test", "https://e2e.test/")
    assert done.stdout == "421", done.stderr


def test_security_headers_on_every_response(installed: dict) -> None:
    for path in ("/", "/static/style.css", "/static/not-there.css", "/not-there"):
        status, headers, _ = https_head(DOMAINS[0], installed["root"], path)
        assert status in (200, 404)
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (path, name, headers)
        assert headers["strict-transport-security"] == "max-age=63072000", path
    status, headers, _ = http_get(DOMAINS[0])  # the redirect too, as sent
    assert status == 301
    assert {k.lower(): v for k, v in headers.items()}["x-content-type-options"] == "nosniff"


def test_static_files_are_cached_long_and_the_page_is_not(installed: dict) -> None:
    _, static, _ = https_head(DOMAINS[0], installed["root"], "/static/style.css")
    assert static["cache-control"] == "max-age=2592000"
    _, page, _ = https_head(DOMAINS[0], installed["root"], "/")
    assert "cache-control" not in page and "expires" not in page


def test_text_is_gzipped_when_asked(installed: dict) -> None:
    _, zipped, body = https_head(DOMAINS[0], installed["root"], "/", "--compressed")
    assert zipped["content-encoding"] == "gzip" and zipped["vary"] == "Accept-Encoding"
    assert "Hello, World!" in body
    _, plain, _ = https_head(DOMAINS[0], installed["root"], "/")
    assert "content-encoding" not in plain


def test_https_speaks_http2(installed: dict) -> None:
    done = curl("-o", "/dev/null", "-w", "%{http_version}", "--http2", "--cacert", str(installed["root"]),
                "--resolve", "e2e.test:443:127.0.0.1", "https://e2e.test/")
    assert done.stdout == "2", done.stderr


def test_symlinks_the_app_user_plants_in_static_are_not_followed(installed: dict) -> None:
    static = "/home/pi/e2e/static"
    as_pi = ["runuser", "-u", "pi", "--"]
    subprocess.run([*as_pi, "ln", "-sfn", "/etc/passwd", f"{static}/leak.txt"], check=True)
    subprocess.run([*as_pi, "ln", "-sfn", f"{static}/style.css", f"{static}/own.css"], check=True)
    try:
        leak, _, body = https_head(DOMAINS[0], installed["root"], "/static/leak.txt")
        own, _, _ = https_head(DOMAINS[0], installed["root"], "/static/own.css")
    finally:
        subprocess.run([*as_pi, "rm", "-f", f"{static}/leak.txt", f"{static}/own.css"], check=True)
    assert leak == 403 and "root:" not in body
    assert own == 200


def test_sslyze_finds_the_site_mozilla_intermediate(installed: dict) -> None:
    sslyze = Path(sys.executable).with_name("sslyze")
    done = subprocess.run([str(sslyze), "--mozilla_config=intermediate", f"--certinfo_ca_file={installed['root']}",
                           "e2e.test:443{127.0.0.1}"], capture_output=True, text=True, timeout=600)
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "e2e.test:443: OK - Compliant." in done.stdout


def test_gixy_finds_nothing_in_what_the_wizard_wrote(installed: dict) -> None:
    """Over the whole config nginx serves, so what the wizard's files inherit or override counts too."""
    ours = {"/etc/nginx/nginx.conf", str(CATCHALL), "/etc/nginx/sites-available/e2e",
            "/etc/nginx/sites-enabled/e2e", "/etc/nginx/sites-enabled/piserver-wizard-catchall"}
    findings = [f for f in gixy(Path("/etc/nginx/nginx.conf")) if f["file"] in ours]
    assert findings == [], summary(findings)


def test_the_app_sees_https_and_the_visitors_address(installed: dict) -> None:
    # From 127.0.0.7, so the visitor is not nginx's own 127.0.0.1; a forged X-Forwarded-For is not believed.
    _, _, body = https_head(DOMAINS[0], installed["root"], "/", "--interface", "127.0.0.7",
                            "-H", "X-Forwarded-For: 203.0.113.9", "-H", "X-Forwarded-Proto: http")
    assert "<code>https://e2e.test/</code> from 127.0.0.7." in body, body


def test_site_benchmarks_smoke_run(installed: dict) -> None:
    """bench/site.py works against the installed site; its figures never fail a test."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / "site.py"), "--app", "e2e", "--smoke"],
                          capture_output=True, text=True, timeout=600)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in ("/ via nginx (HTTPS) / / from gunicorn directly", "resumed sessions / new sessions",
                   "/ gzip / / identity", "gthread, 2 workers x 4 threads / sync, 3 workers"):
        assert figure in done.stdout, done.stdout


# --- a second app beside the first, certbot editing its site (certbot-nginx mode), one catch-all for both

TWO = {"name": "e2etwo", "domain": "two.e2e.test", "port": 4401}


@pytest.fixture(scope="module")
def second_app(installed: dict, wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    forget_app(TWO["name"])
    answers = tmp_path_factory.mktemp("two") / "answers.toml"
    text = ANSWERS.format(server=acme["ACME_DIRECTORY_URL"])
    for old, new in (('["e2e.test", "www.e2e.test"]', f'["{TWO["domain"]}"]'), ('"e2e"', f'"{TWO["name"]}"'),
                     ("/home/pi/e2e", f"/home/pi/{TWO['name']}"), ("4400", str(TWO["port"])),
                     ('mode = "certonly"', 'mode = "certbot-nginx"')):
        assert old in text
        text = text.replace(old, new)
    answers.write_text(text)
    done = run_wizard(wizard_bin, answers, acme)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    yield TWO
    forget_app(TWO["name"])


def test_two_apps_each_serve_only_their_own_names(installed: dict, second_app: dict) -> None:
    for domain, name in ((DOMAINS[0], "e2e"), (DOMAINS[1], "e2e"), (second_app["domain"], second_app["name"])):
        status, headers, body = https_head(domain, installed["root"])
        assert status == 200 and f"<title>{name}</title>" in body, (domain, body)
        assert SECURITY_HEADERS.items() <= headers.items(), (domain, headers)
    status, headers, _ = http_get(second_app["domain"])
    assert status == 301 and headers["Location"] == f"https://{second_app['domain']}/"
    assert curl("-o", "/dev/null", "-H", "Host: unknown.test", "http://127.0.0.1/").returncode == 52
    done = curl("-k", "-o", "/dev/null", "--resolve", "unknown.test:443:127.0.0.1", "https://unknown.test/")
    assert done.returncode == 35
    catchalls = [p for p in Path("/etc/nginx/sites-enabled").iterdir() if "default_server" in p.read_text()]
    assert [p.name for p in catchalls] == ["piserver-wizard-catchall"]


def test_certbot_nginx_mode_is_graded_like_the_wizards_own(installed: dict, second_app: dict) -> None:
    """certbot's options file lacks a curve list (OpenSSL offers X448 and secp521r1 then), but the catch-all
    is the default server of port 443 and its settings are the ones nginx negotiates with."""
    site = Path(f"/etc/nginx/sites-available/{second_app['name']}")
    assert "managed by Certbot" in site.read_text()
    findings = [f for f in gixy(Path("/etc/nginx/nginx.conf"))
                if f["file"] in (str(site), f"/etc/nginx/sites-enabled/{second_app['name']}")]
    assert findings == [], summary(findings)
    sslyze = Path(sys.executable).with_name("sslyze")
    done = subprocess.run([str(sslyze), "--mozilla_config=intermediate", f"--certinfo_ca_file={installed['root']}",
                           f"{second_app['domain']}:443{{127.0.0.1}}"], capture_output=True, text=True, timeout=600)
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert f"{second_app['domain']}:443: OK - Compliant." in done.stdout
