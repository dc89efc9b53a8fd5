"""The plan: one ordered list of steps built from the answers and the machine's facts.

The unattended run, ``--dry-run`` and the TUI all take this same list. A step is data (commands as argv
lists, files already rendered, checks as small functions), so it can be shown before anything happens and
executed by whichever runner is plugged in.
"""

from __future__ import annotations

import pwd
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import certs, verify
from .answers import Answers
from .commands import Command
from .facts import Facts, dpkg_interrupted, installed_packages
from .files import Link, PlannedFile, hash_of, sha256
from .fingerprint import fingerprint
from .render import render
from .services import Services

WEBROOT = "/var/www/piserver-wizard"
CONFIG_DIR = "/etc/piserver-wizard"
CRON_FILE = "/etc/cron.d/piserver-wizard-certbot"
DEBIAN_CRON_FILE = "/etc/cron.d/certbot"
DEPLOY_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/piserver-wizard-reload-nginx"
SAMPLE_TEXT = "Hello, World!"

Check = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Probe:
    description: str
    check: Check


@dataclass
class Step:
    """One unit of progress: skipped when done, retried whole when it failed or was interrupted."""

    id: str
    title: str
    commands: list[Command] = field(default_factory=list)
    files: list[PlannedFile] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    validate: list[Command] = field(default_factory=list)  # after files; failure puts the files back
    on_change: list[Command] = field(default_factory=list)  # after files, only when a file changed
    on_rerun: list[Command] = field(default_factory=list)  # when inputs changed but no file did
    probes: list[Probe] = field(default_factory=list)
    is_done: Callable[[], bool] | None = None  # the machine says the work is there
    inputs: dict = field(default_factory=dict)  # what the work depends on (fingerprinted in the state)
    remember_inputs: bool = False  # done only if the stored fingerprint matches too
    always: bool = False  # checks that run on every run (verify)
    safe_to_skip: bool = False
    tracks: list[str] = field(default_factory=list)  # files others (certbot --nginx) may change after us

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs)

    def files_current(self) -> bool:
        return all(f.is_current() for f in self.files) and all(link.is_current() for link in self.links)

    def describe(self) -> list[str]:
        lines = [c.display() for c in self.commands]
        lines += [f"write {f.path}" for f in self.files]
        lines += [link.describe() for link in self.links]
        lines += [c.display() for c in self.validate + self.on_change]
        lines += [f"check: {p.description}" for p in self.probes]
        return lines


@dataclass
class Plan:
    answers: Answers
    facts: Facts
    steps: list[Step]

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def planned_files(self) -> list[PlannedFile]:
        seen: dict[str, PlannedFile] = {}
        for step in self.steps:
            for planned in step.files:
                seen[planned.path] = planned  # a later step's version of a file is what stays
        return list(seen.values())


def apt_get(*args: str, timeout: float = 1800.0) -> Command:
    """apt on a pty waits forever for a lock or a conffile question: wait bounded, answer nothing."""
    return Command.of(
        "apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Use-Pty=0",
        "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", *args,
        env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=timeout,
    )


def _user_home(user: str) -> str:
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return f"/home/{user}"


def _owned_by(path: str, user: str) -> bool:
    try:
        return Path(path).stat().st_uid == pwd.getpwnam(user).pw_uid
    except (OSError, KeyError):
        return False


def _all_installed(packages: tuple[str, ...]) -> Callable[[], bool]:
    return lambda: set(packages) <= set(installed_packages(packages))


def _cert_matches(answers: Answers) -> bool:
    info = certs.read(answers.app.name)
    return (info is not None and info.names == frozenset(answers.site.domains)
            and info.server == answers.https.directory_url)


def renewal_method(answers: Answers, services: Services) -> str:
    if answers.https.renewal == "auto":
        return "timer" if services.systemd else "cron"
    return answers.https.renewal


def needed_packages(answers: Answers, services: Services) -> tuple[str, ...]:
    packages = ["nginx", "python3-venv", "supervisor"]
    if answers.https.enabled:
        packages += ["certbot", "python3-certbot-nginx"]
        if renewal_method(answers, services) == "cron":
            packages.append("cron")
    return tuple(packages)


def build_plan(answers: Answers, facts: Facts, services: Services | None = None,
               state_files: dict[str, str] | None = None) -> Plan:
    """``state_files`` maps paths to the hash of what the wizard last left there (see state.py)."""
    services = services or Services(facts.systemd)
    state_files = state_files or {}
    app = answers.app
    https = answers.https
    home = _user_home(app.user)
    conf_dir = f"{CONFIG_DIR}/{app.name}"
    gunicorn_conf = f"{conf_dir}/gunicorn.conf.py"
    secret_file = f"{app.directory}/.secret_key"
    site_path = f"/etc/nginx/sites-available/{app.name}"
    cert_dir = str(certs.live_dir(app.name))
    upstream = f"http://{app.bind}" if not app.bind.startswith("unix:") else f"http://{app.bind}:"
    log_dir = f"/var/log/{app.name}"
    primary = answers.site.domains[0]
    steps: list[Step] = []
    packages = needed_packages(answers, services)

    def site(tls: bool) -> PlannedFile:
        return PlannedFile(site_path, render(
            "nginx-site.conf.j2", app=app, domains=answers.site.domains, upstream=upstream, webroot=WEBROOT,
            tls=tls, redirect=https.redirect, cert_dir=cert_dir, ipv6=facts.ipv6))

    if facts.dpkg_audit:
        steps.append(Step(
            "dpkg-repair", "Repair an interrupted dpkg",
            commands=[Command.of("dpkg", "--configure", "-a", env={"DEBIAN_FRONTEND": "noninteractive"},
                                 timeout=1800)],
            is_done=lambda: not dpkg_interrupted()))

    if answers.system.update_packages:
        steps.append(Step("apt-update", "Update the package lists", commands=[apt_get("update", "--error-on=any", timeout=900)],
                          is_done=_all_installed(packages), safe_to_skip=True))

    if answers.system.remove_apache and facts.has("apache2"):
        apache = tuple(p for p in ("apache2", "apache2-bin", "apache2-data", "apache2-utils"))
        steps.append(Step("apache-purge", "Remove apache2 (it would hold port 80)",
                          commands=[apt_get("purge", *apache)],
                          is_done=lambda: "apache2" not in installed_packages(("apache2",))))

    steps.append(Step(
        "nginx-install", "Install and start nginx",
        commands=[apt_get("install", "nginx"), services.start("nginx")],
        is_done=lambda: _all_installed(("nginx",))() and services.is_active("nginx")))

    steps.append(Step("python-venv", "Install Python's venv module",
                      commands=[apt_get("install", "python3-venv")],
                      is_done=_all_installed(("python3-venv",))))

    folder_cmds = [Command.of("install", "-d", "-o", app.user, "-g", app.user, "-m", "755", app.directory),
                   Command.of("install", "-d", "-o", "root", "-g", "root", "-m", "755", log_dir, conf_dir)]
    steps.append(Step(
        "app-folder", f"Create {app.directory} for {app.user}", commands=folder_cmds,
        is_done=lambda: _owned_by(app.directory, app.user) and Path(log_dir).is_dir() and Path(conf_dir).is_dir()))

    app_files = [PlannedFile(secret_file, "", mode=0o600, owner=app.user, secret=True, keep_existing=True)]
    if app.source == "sample":
        app_files += [
            PlannedFile(f"{app.directory}/app.py", render("app.py.j2", app=app), owner=app.user),
            PlannedFile(f"{app.directory}/static/style.css", render("style.css.j2"), owner=app.user),
        ]
    steps.append(Step("app-files", "Write the app's files" if app.source == "sample" else "Write the app's secret key",
                      files=app_files))

    venv_python = f"{app.venv}/bin/python"
    steps.append(Step(
        "venv", f"Create the virtualenv {app.venv}",
        commands=[Command.of("/usr/bin/python3", "-m", "venv", app.venv, as_user=app.user, env={"HOME": home})],
        is_done=lambda: Path(venv_python).exists() and _owned_by(app.venv, app.user)))

    requirements = Path(app.directory) / "requirements.txt"
    pip_args = ["install", "--no-input", *app.packages]
    if requirements.is_file():
        pip_args += ["-r", str(requirements)]
    req_hash = sha256(requirements.read_bytes()) if requirements.is_file() else ""
    pip_step = Step(
        "pip", "Install the Python packages into the venv",
        commands=[Command.of(f"{app.venv}/bin/pip", *pip_args, as_user=app.user, env={"HOME": home},
                             timeout=1800)],
        inputs={"packages": app.packages, "requirements": req_hash, "venv": app.venv},
        remember_inputs=True,
        is_done=lambda: Path(f"{app.venv}/bin/gunicorn").exists())
    steps.append(pip_step)

    module, _, attr = app.wsgi.partition(":")
    import_check = (
        "import importlib, sys, traceback\n"
        "sys.path.insert(0, '.')\n"
        "try:\n"
        "    getattr(importlib.import_module(sys.argv[1]), sys.argv[2].rstrip('()'))\n"
        "except Exception as error:\n"
        "    where = traceback.extract_tb(error.__traceback__)[-1]\n"
        "    print(f'Error: {sys.argv[1]}:{sys.argv[2]} does not load: {type(error).__name__}: {error} '\n"
        "          f'({where.filename}, line {where.lineno})')\n"
        "    sys.exit(1)\n")
    import_step = Step(
        "app-import", f"Check that {app.wsgi} imports",
        commands=[Command.of(venv_python, "-c", import_check, module, attr, as_user=app.user,
                             env={"HOME": home}, cwd=app.directory, timeout=120)],
        inputs={"wsgi": app.wsgi, "files": [f.content for f in app_files if not f.secret],
                "pip": pip_step.fingerprint}, remember_inputs=True, is_done=lambda: True)
    steps.append(import_step)

    steps.append(Step("supervisor-install", "Install and start supervisor",
                      commands=[apt_get("install", "supervisor"), services.start("supervisor")],
                      is_done=lambda: _all_installed(("supervisor",))() and services.is_active("supervisor")))

    program_files = [
        PlannedFile(gunicorn_conf, render("gunicorn.conf.py.j2", app=app, secret_file=secret_file,
                                          socket_dir=app.socket_dir)),
        PlannedFile(f"/etc/supervisor/conf.d/{app.name}.conf", render(
            "supervisor-program.conf.j2", app=app, home=home, gunicorn_conf=gunicorn_conf)),
    ]
    program_cmds = []
    if app.socket_dir:
        program_files.append(PlannedFile(f"/etc/tmpfiles.d/piserver-wizard-{app.name}.conf",
                                         render("tmpfiles.conf.j2", app=app, socket_dir=app.socket_dir)))
        program_cmds.append(Command.of("install", "-d", "-o", app.user, "-g", "www-data", "-m", "2770",
                                       app.socket_dir))
    steps.append(Step(
        "app-program", f"Run {app.name} under supervisor (gunicorn -w {app.workers} -b {app.bind})",
        commands=program_cmds, files=program_files,
        on_change=[Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update")],
        on_rerun=[Command.of("supervisorctl", "restart", app.name)],
        probes=[Probe(f"supervisor says {app.name} is RUNNING and it answers on {app.bind}",
                      lambda: verify.wait_serving(app.name, app.bind, Path(log_dir)))],
        # What needs a restart without changing the supervisor program (that one restarts on update).
        inputs={"app": import_step.inputs, "gunicorn": program_files[0].content},
        remember_inputs=True,
        is_done=lambda: verify.supervisor_state(app.name) == "RUNNING"))

    tls_now = https.enabled and https.mode == "certonly" and certs.read(app.name) is not None
    default_link = "/etc/nginx/sites-enabled/default"
    links = [Link(f"/etc/nginx/sites-enabled/{app.name}", site_path)]
    if answers.site.disable_default_site:
        links.append(Link(default_link, None))
    reload_nginx = services.reload("nginx")
    nginx_test = Command.of("nginx", "-t", timeout=60)
    redirect_now = tls_now and https.redirect
    sample_text = SAMPLE_TEXT if app.source == "sample" else None
    site_step = Step(
        "nginx-site", f"Serve {', '.join(answers.site.domains)} with nginx",
        commands=[Command.of("install", "-d", "-m", "755", WEBROOT)],
        files=[site(tls_now)], links=links, validate=[nginx_test], on_change=[reload_nginx],
        inputs={"domains": answers.site.domains, "bind": app.bind, "https": [https.enabled, https.mode]},
        # `nginx reload` returns before new workers serve the new names; the certificate request that
        # follows needs them, so the step ends only when every name is served by this site.
        probes=[Probe(f"nginx serves http://{name}/ from the new site", _served(name, redirect_now, sample_text))
                for name in answers.site.domains],
    )
    if https.enabled and https.mode == "certbot-nginx":
        # certbot --nginx edits the site after us: what it left is accepted while the inputs are the same.
        site_step.remember_inputs = True
        site_step.tracks = [site_path]
        site_step.is_done = lambda: state_files.get(site_path) == hash_of(site_path) and \
            all(link.is_current() for link in links)
    steps.append(site_step)

    if https.enabled:
        steps += _https_steps(answers, services, site, site_path, nginx_test, reload_nginx, state_files)

    steps.append(_verify_step(answers, primary))
    return Plan(answers, facts, steps)


def _https_steps(answers: Answers, services: Services, site: Callable[[bool], PlannedFile], site_path: str,
                 nginx_test: Command, reload_nginx: Command, state_files: dict[str, str]) -> list[Step]:
    app, https = answers.app, answers.https
    steps = [Step("certbot-install", "Install certbot and its nginx plugin",
                  commands=[apt_get("install", "certbot", "python3-certbot-nginx")],
                  is_done=_all_installed(("certbot", "python3-certbot-nginx")))]
    domain_args = [arg for name in answers.site.domains for arg in ("-d", name)]
    common = ["-n", "--agree-tos", "-m", https.email, "--cert-name", app.name, *domain_args,
              "--server", https.directory_url]
    hook = PlannedFile(DEPLOY_HOOK, render("deploy-hook.sh.j2", systemd=services.systemd), mode=0o755)
    if https.mode == "certonly":
        cert_cmd = Command.of("certbot", "certonly", "--webroot", "-w", WEBROOT, *common, timeout=600)
        steps.append(Step("certificate", f"Get a certificate for {', '.join(answers.site.domains)}",
                          commands=[cert_cmd], files=[hook], is_done=lambda: _cert_matches(answers),
                          inputs={"domains": answers.site.domains, "server": https.directory_url}))
        steps.append(Step("nginx-tls", "Serve HTTPS" + (" and redirect HTTP to it" if https.redirect else ""),
                          files=[site(True)], validate=[nginx_test], on_change=[reload_nginx]))
    else:
        redirect = "--redirect" if https.redirect else "--no-redirect"
        cert_cmd = Command.of("certbot", "run", "--nginx", redirect, *common, timeout=600)
        steps.append(Step(
            "certificate", f"Get a certificate and let certbot configure nginx ({redirect})",
            commands=[cert_cmd], files=[hook], validate=[nginx_test], tracks=[site_path],
            inputs={"domains": answers.site.domains, "server": https.directory_url, "redirect": https.redirect},
            remember_inputs=True,
            is_done=lambda: _cert_matches(answers) and state_files.get(site_path) == hash_of(site_path)))
    # certbot's dry run swaps Let's Encrypt for its staging server by itself; any other CA must be named.
    dry_run_server = [] if https.acme_server == "letsencrypt" else ["--server", https.directory_url]
    steps.append(Step(
        "renew-dry-run", "Test renewal (certbot renew --dry-run)",
        commands=[Command.of("certbot", "renew", "--dry-run", "--cert-name", app.name, "-n",
                             "--no-random-sleep-on-renew", *dry_run_server,
                             timeout=600)],
        inputs={"domains": answers.site.domains, "server": https.directory_url}, remember_inputs=True,
        is_done=lambda: True, safe_to_skip=True))
    steps.append(_renewal_step(answers, services))
    return steps


def _renewal_step(answers: Answers, services: Services) -> Step:
    """Exactly one renewal job: certbot.timer under systemd, else one cron line (Debian's set aside)."""
    method = renewal_method(answers, services)
    if method == "timer":
        return Step("renewal", "Renew certificates with certbot.timer",
                    commands=[Command.of("systemctl", "enable", "--now", "certbot.timer")],
                    links=[Link(CRON_FILE, None)], is_done=lambda: services.timer_active())
    commands = [services.start("cron")]
    if services.systemd:
        commands.append(Command.of("systemctl", "disable", "--now", "certbot.timer"))
    cron = PlannedFile(CRON_FILE, render("certbot-cron.j2", schedule=answers.https.cron_schedule))
    return Step(
        "renewal", f"Renew certificates by cron ({answers.https.cron_schedule})",
        commands=[apt_get("install", "cron"), *commands], files=[cron],
        links=[Link(DEBIAN_CRON_FILE, None)],
        is_done=lambda: services.is_active("cron") and not services.timer_active())


def _served(name: str, redirect: bool, text: str | None) -> Check:
    return lambda: verify.eventually(lambda: verify.check_http(name, expect_redirect=redirect, expect_text=text))


def _verify_step(answers: Answers, primary: str) -> Step:
    app, https = answers.app, answers.https
    text = SAMPLE_TEXT if app.source == "sample" else None
    probes = [Probe(f"supervisor says {app.name} is RUNNING and it answers on {app.bind}",
                    lambda: verify.wait_serving(app.name, app.bind, Path(f"/var/log/{app.name}"), timeout=15))]
    for name in answers.site.domains:
        redirect = https.enabled and https.redirect
        probes.append(Probe(f"http://{name}/ {'redirects to HTTPS' if redirect else 'answers'} (via 127.0.0.1)",
                            _served(name, redirect, text)))
        if https.enabled:
            probes.append(Probe(f"https://{name}/ answers with its certificate (via 127.0.0.1)",
                                lambda n=name: verify.eventually(
                                    lambda: verify.check_https(n, app.name, expect_text=text))))
    return Step("verify", f"Check the site answers on {primary}", probes=probes, always=True)
