"""The plan that undoes one app: steps the engine runs like an install's, so it is shown, dry-run and
rolled back the same way (an nginx that fails ``nginx -t`` gets its site back).

Only what the wizard did for this app goes: shared pieces (the renewal job, the deploy hook, Debian's
default site) are touched only when no other managed app needs them, and the certificate and the app's
own folder only when asked. The app folder belongs to an untrusted user, so its contents are deleted as
that user (``find -delete`` never follows a link); root then removes the folder itself, now empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import certs
from ..commands import Command
from ..files import Link
from ..layout import CRON_FILE, DEPLOY_HOOK
from ..plan import Plan, Step
from ..services import Services
from ..steps.site import CATCHALL_AVAILABLE, CATCHALL_ENABLED
from .apps import ManagedApp
from .notice import MOTD_SCRIPT, STATUS_CRON, notice_file
from .supervisor import process_info

DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
DEFAULT_SITE_TARGET = "/etc/nginx/sites-available/default"


@dataclass(frozen=True)
class RemoveOptions:
    delete_certificate: bool = False
    delete_app_files: bool = False


def _gone(*paths: str) -> bool:
    return not any(Path(p).exists() or Path(p).is_symlink() for p in paths)


def _program_steps(app: ManagedApp) -> list[Step]:
    name, conf = app.name, app.paths.supervisor_conf
    stopped = ("STOPPED", "EXITED", "FATAL", "BACKOFF")
    return [
        Step("remove-stop", f"Stop {name} under supervisor",
             commands=[Command.of("supervisorctl", "stop", name, timeout=120)],
             is_done=lambda: (process_info(name) or {"statename": "STOPPED"})["statename"] in stopped),
        Step("remove-program", f"Remove the supervisor program {name}", links=[Link(conf, None)],
             on_change=[Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update", name)],
             is_done=lambda: _gone(conf) and process_info(name) is None),
    ]


def _site_step(app: ManagedApp, last: bool, services: Services) -> Step:
    p = app.paths
    links = [Link(p.site_enabled, None), Link(p.site_available, None)]
    if last:  # the catch-all serves every app; with none left it goes (it would clash with Debian's default)
        links += [Link(CATCHALL_ENABLED, None), Link(CATCHALL_AVAILABLE, None)]
    if last and app.answers.site.disable_default_site and Path(DEFAULT_SITE_TARGET).is_file():
        links.append(Link(DEFAULT_SITE, DEFAULT_SITE_TARGET))  # Debian's welcome page, as before the wizard
    return Step("remove-site", f"Remove the nginx site {app.name}", links=links,
                validate=[Command.of("nginx", "-t", timeout=60)], on_change=[services.reload("nginx")],
                is_done=lambda: all(link.is_current() for link in links))


def _config_step(app: ManagedApp) -> Step:
    p = app.paths
    commands = [Command.of("rm", "-rf", "--one-file-system", "--", p.conf_dir)]
    if p.socket_dir and Path(p.socket_dir).is_dir():  # the app user writes there: emptied as that user, the folder itself by root
        commands += [Command.of("find", p.socket_dir, "-mindepth", "1", "-delete", as_user=app.answers.app.user),
                     Command.of("rmdir", "--", p.socket_dir)]
    return Step("remove-config", "Remove the gunicorn config" + (" and the socket folder" if p.socket_dir else ""),
                commands=commands, links=[Link(p.tmpfiles, None)],
                is_done=lambda: _gone(p.conf_dir, p.tmpfiles, *([p.socket_dir] if p.socket_dir else [])))


def _renewal_step() -> Step:
    return Step("remove-renewal", "Remove the renewal cron line and deploy hook (no other app needs them)",
                links=[Link(CRON_FILE, None), Link(DEPLOY_HOOK, None)], is_done=lambda: _gone(CRON_FILE, DEPLOY_HOOK))


def _notice_step() -> Step:
    paths = [MOTD_SCRIPT, STATUS_CRON, str(notice_file())]
    return Step("remove-notice", "Remove the login notice (this was the last app)",
                links=[Link(path, None) for path in paths], is_done=lambda: _gone(*paths))


def _certificate_step(app: ManagedApp) -> Step:
    return Step("remove-certificate", f"Delete the certificate {app.name} (certbot delete)",
                commands=[Command.of("certbot", "delete", "-n", "--cert-name", app.name, timeout=300)],
                is_done=lambda: certs.read(app.name) is None and not certs.live_dir(app.name).exists())


def _folder_step(app: ManagedApp) -> Step:
    folder, user = app.answers.app.directory, app.answers.app.user
    return Step("remove-app-files", f"Delete {folder} (as {user}, links not followed)",
                commands=[Command.of("find", folder, "-mindepth", "1", "-delete", as_user=user, timeout=600),
                          Command.of("rmdir", "--", folder)],
                is_done=lambda: _gone(folder))


def removal_plan(app: ManagedApp, others: list[ManagedApp], options: RemoveOptions,
                 services: Services, facts: object = None) -> Plan:
    """``others`` are the apps that stay: what they need stays too."""
    steps = _program_steps(app) + [_site_step(app, not others, services), _config_step(app)]
    if app.answers.https.enabled and not any(o.answers.https.enabled for o in others):
        steps.append(_renewal_step())
    if not others and not _gone(MOTD_SCRIPT, STATUS_CRON, str(notice_file())):
        steps.append(_notice_step())
    if options.delete_certificate:
        steps.append(_certificate_step(app))
    if options.delete_app_files and Path(app.answers.app.directory).exists():
        steps.append(_folder_step(app))
    return Plan(app.answers, facts, steps)  # type: ignore[arg-type]
