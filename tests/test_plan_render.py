"""The plan and what it renders: argv-only commands, the guide's steps, and nginx sites nginx accepts."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from wizard.answers import Answers
from wizard.facts import AppFacts, Facts
from wizard.plan import build_plan as _build_plan
from wizard.services import Services


def make_answers(**changes: object) -> Answers:
    answers = Answers()
    answers.site.domains = ["pi.example.com", "www.pi.example.com"]
    answers.https.email = "admin@example.com"
    answers.https.agree_tos = True
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        setattr(getattr(answers, section), key, value)
    return answers


def build_plan(answers: Answers, facts: Facts, services: Services):  # type: ignore[no-untyped-def]
    """The plan is a pure function of answers and facts: no root, no user "pi", no machine read."""
    return _build_plan(answers, facts, services, app_facts=AppFacts(home="/home/pi"))


def facts(**changes: object) -> Facts:
    return replace(Facts(hostname="testpi", os_name="Debian", arch="aarch64", ipv6=True, cores=4), **changes)


def all_commands(plan) -> list:  # type: ignore[no-untyped-def]
    return [c for s in plan.steps for c in s.commands + s.validate + s.on_change + s.on_rerun]


def test_every_command_is_an_argv_of_strings() -> None:
    plan = build_plan(make_answers(), facts(), Services(False))
    for command in all_commands(plan):
        assert isinstance(command.argv, tuple) and all(isinstance(a, str) for a in command.argv)
        assert command.argv[0] not in ("sh", "bash", "/bin/sh"), command


def test_the_guide_in_order() -> None:
    plan = build_plan(make_answers(), facts(installed={"apache2": "2.4"}), Services(False))
    ids = [s.id for s in plan.steps]
    assert ids == ["apt-update", "apache-purge", "packages", "nginx-start", "supervisor-start", "app-folder",
                   "app-files", "venv", "pip", "app-import", "app-settings", "app-program", "nginx-catchall",
                   "nginx-site", "certificate", "nginx-tls", "renew-dry-run", "renewal", "verify", "login-notice"]


def test_apache_is_left_alone_when_not_asked_or_not_there() -> None:
    ids = [s.id for s in build_plan(make_answers(), facts(), Services(False)).steps]
    assert "apache-purge" not in ids
    answers = make_answers(system__remove_apache=False)
    ids = [s.id for s in build_plan(answers, facts(installed={"apache2": "2.4"}), Services(False)).steps]
    assert "apache-purge" not in ids


def test_apt_never_waits_on_a_pty() -> None:
    plan = build_plan(make_answers(), facts(), Services(False))
    for command in all_commands(plan):
        if command.argv[0] == "apt-get":
            assert ("DEBIAN_FRONTEND", "noninteractive") in command.env
            assert "-y" in command.argv and "DPkg::Lock::Timeout=300" in command.argv


def test_without_an_email_certbot_registers_without_one() -> None:
    for mode in ("certonly", "certbot-nginx"):
        plan = build_plan(make_answers(https__email="", https__mode=mode), facts(), Services(False))
        cert = plan.step("certificate").commands[0].argv
        cert = cert[cert.index("certbot"):]  # certonly: through wizard.diagnose (python -I -m ...)
        assert "--register-unsafely-without-email" in cert and "-m" not in cert and "" not in cert


def test_certbot_is_always_non_interactive_and_names_its_server() -> None:
    plan = build_plan(make_answers(https__acme_server="https://127.0.0.1:14000/dir"), facts(), Services(False))
    dry_first, real, reload = plan.step("certificate").commands  # HTTP-01: a dry run first, through wizard.diagnose
    assert reload.argv == ("service", "nginx", "reload")  # the new certificate served at once
    assert "--dry-run" in dry_first.argv and "--dry-run" not in real.argv
    cert = real.argv[real.argv.index("certbot"):]
    for flag in ("-n", "--agree-tos", "--cert-name", "--server"):
        assert flag in cert
    assert cert[cert.index("-m") + 1] == "admin@example.com" and "--register-unsafely-without-email" not in cert
    assert [cert[i + 1] for i, a in enumerate(cert) if a == "-d"] == ["pi.example.com", "www.pi.example.com"]
    dry = plan.step("renew-dry-run").commands[0].argv
    assert dry[dry.index("--server") + 1] == "https://127.0.0.1:14000/dir"


def test_certbot_nginx_mode_uses_the_plugin_with_redirect() -> None:
    plan = build_plan(make_answers(https__mode="certbot-nginx"), facts(), Services(False))
    argv = plan.step("certificate").commands[0].argv
    assert argv[:4] == ("certbot", "run", "--nginx", "--redirect")
    assert "nginx-tls" not in [s.id for s in plan.steps]


def test_renewal_timer_on_systemd_and_cron_without() -> None:
    timer = build_plan(make_answers(), facts(systemd=True), Services(True)).step("renewal")
    assert timer.commands[0].argv == ("systemctl", "enable", "--now", "certbot.timer")
    assert not timer.files
    cron = build_plan(make_answers(), facts(), Services(False)).step("renewal")
    assert cron.files[0].content.strip().endswith("17 3,15 * * * root certbot renew --quiet")
    forced = build_plan(make_answers(https__renewal="cron"), facts(systemd=True), Services(True)).step("renewal")
    assert ("systemctl", "disable", "--now", "certbot.timer") in [c.argv for c in forced.commands]


def test_supervisor_program_follows_the_answers() -> None:
    answers = make_answers(app__workers=9, app__bind="127.0.0.1:5005")
    plan = build_plan(answers, facts(), Services(False))
    program, settings = plan.step("app-program"), plan.step("app-settings")
    conf = next(f for f in program.files if f.path.endswith("/hello.conf")).content
    assert "--config /etc/piserver-wizard/hello/gunicorn.conf.py --bind 127.0.0.1:5005 app:app" in conf
    assert "--workers" not in conf  # in gunicorn's file: a HUP applies it without dropping a request
    for line in ("user=pi", "autostart=true", "autorestart=true", "stopasgroup=true", "killasgroup=true",
                 "stderr_logfile=/var/log/hello/hello.err.log"):
        assert line in conf
    assert [c.argv for c in program.on_change] == [("supervisorctl", "reread"), ("supervisorctl", "update", "hello")]
    assert "\nworkers = 9\n" in settings.files[0].content
    reload = [c.argv[-5:] for c in settings.on_change + settings.on_rerun]
    assert reload == [("-m", "wizard", "restart", "hello", "--if-running")] * 2


def test_secret_never_in_a_diff() -> None:
    plan = build_plan(make_answers(app__directory="/home/pi/never-here"), facts(), Services(False))
    secret = next(f for f in plan.step("app-files").files if f.secret)
    assert secret.content == "" and "never shown" in secret.diff()


# --- every rendered nginx site passes a real `nginx -t`

@pytest.fixture(scope="module")
def nginx(as_root: None) -> str:
    if not shutil.which("nginx"):
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True, timeout=900,
                       env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem"),
                    "-subj", "/CN=pi.example.com"], check=True, capture_output=True)
    return folder


def nginx_accepts(nginx: str, site: str, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log {tmp_path}/logs/access.log;\n"
        f"  include {tmp_path}/site.conf;\n}}\n")
    return subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True)


VARIANTS = [
    {},
    {"https__redirect": False},
    {"https__enabled": False},
    {"app__bind": "unix:/run/hello/gunicorn.sock"},
    {"app__name": "my-site-2", "app__directory": "/srv/sites/my-site-2"},
]


@pytest.mark.parametrize("changes", VARIANTS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("ipv6", [True, False])
def test_rendered_sites_pass_nginx_t(nginx: str, self_signed: Path, tmp_path: Path, changes: dict,
                                     ipv6: bool) -> None:
    answers = make_answers(**changes)
    plan = build_plan(answers, facts(ipv6=ipv6), Services(False))
    sites = [plan.step("nginx-site").files[0].content]
    if answers.https.enabled:
        sites.append(plan.step("nginx-tls").files[0].content)
    for site in sites:
        site = site.replace(f"/etc/letsencrypt/live/{answers.app.name}", str(self_signed))
        checked = nginx_accepts(nginx, site, tmp_path)
        assert checked.returncode == 0, checked.stderr + site
    if answers.https.enabled:
        assert "listen 443 ssl" in sites[-1] and "server_tokens off;" in sites[-1]
        assert ("return 301 https://$host$request_uri;" in sites[-1]) == answers.https.redirect


def test_nginx_rejects_what_the_validators_keep_out(nginx: str, tmp_path: Path) -> None:
    """The check above can fail: an unvalidated name with a brace breaks the site."""
    plan = build_plan(make_answers(https__enabled=False), facts(), Services(False))
    site = plan.step("nginx-site").files[0].content.replace("server_name pi.example.com", "server_name pi{.example.com")
    assert nginx_accepts(nginx, site, tmp_path).returncode != 0


def test_changes_are_said_in_the_users_terms() -> None:
    from dataclasses import replace

    from wizard.answers import Answers, AppAnswers, SiteAnswers
    from wizard.changes import describe_changes

    old = Answers(site=SiteAnswers(domains=["a.example", "www.a.example"]),
                  app=AppAnswers(packages=["flask", "gunicorn"], workers=2))
    new = replace(old, site=SiteAnswers(domains=["a.example", "b.example"]),
                  app=replace(old.app, packages=["flask", "gunicorn", "requests"], workers=3))
    assert describe_changes(old, new) == ["domains: +b.example \u2212www.a.example", "app.packages: +requests",
                                          "app.workers: 2 -> 3"]
    assert describe_changes(old, old) == [] and describe_changes(None, new) == []


@pytest.mark.parametrize("systemd", [True, False])
def test_one_apt_transaction_installs_every_package(systemd: bool) -> None:
    """One `apt-get install` for the whole plan (apt's database read and dpkg's triggers once), before
    any service is started; cron comes in it always (the login notice's refresher; the renewal too, without
    systemd)."""
    plan = build_plan(make_answers(), facts(), Services(systemd))
    installs = [(s.id, c.argv) for s in plan.steps for c in s.commands if "apt-get" in c.argv and "install" in c.argv]
    assert len(installs) == 1, installs
    step_id, argv = installs[0]
    wanted = {"nginx", "python3-venv", "supervisor", "certbot", "python3-certbot-nginx", "cron"}
    assert set(argv[argv.index("install") + 1:]) == wanted
    ids = [s.id for s in plan.steps]
    assert ids.index(step_id) < ids.index("nginx-start") < ids.index("supervisor-start") < ids.index("app-program")
