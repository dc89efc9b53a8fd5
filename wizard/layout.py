"""Every path one app uses, computed once from its answers.

The plan, the final checks, the summary and the day-two verbs all ask this one object where an app's files
live, so a path is never spelled twice (and never twice differently).
"""

from __future__ import annotations

from dataclasses import dataclass

from .answers import Answers
from .schema import socket_dir_of

WEBROOT = "/var/www/piserver-wizard"  # HTTP-01 challenges, shared by every app
CONFIG_ROOT = "/etc/piserver-wizard"
LETSENCRYPT = "/etc/letsencrypt"
CRON_FILE = "/etc/cron.d/piserver-wizard-certbot"
DEBIAN_CRON_FILE = "/etc/cron.d/certbot"
DEPLOY_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/piserver-wizard-reload-nginx"
DEFAULT_SITE_LINK = "/etc/nginx/sites-enabled/default"


@dataclass(frozen=True)
class AppLayout:
    """Where one app's files are: its own folder (the app user's) and the system files the wizard writes."""

    name: str
    directory: str
    bind: str

    @classmethod
    def of(cls, answers: Answers) -> "AppLayout":
        return cls(answers.app.name, answers.app.directory, answers.app.bind)

    # The app's own folder: owned by the app user, who is not trusted by root.
    @property
    def venv(self) -> str:
        return f"{self.directory}/venv"

    @property
    def venv_python(self) -> str:
        return f"{self.venv}/bin/python"

    @property
    def secret_file(self) -> str:
        return f"{self.directory}/.secret_key"

    @property
    def static_dir(self) -> str:
        return f"{self.directory}/static"

    @property
    def requirements(self) -> str:
        return f"{self.directory}/requirements.txt"

    # System files, root's.
    @property
    def config_dir(self) -> str:
        return f"{CONFIG_ROOT}/{self.name}"

    @property
    def gunicorn_conf(self) -> str:
        return f"{self.config_dir}/gunicorn.conf.py"

    @property
    def supervisor_conf(self) -> str:
        return f"/etc/supervisor/conf.d/{self.name}.conf"

    @property
    def tmpfiles_conf(self) -> str:
        return f"/etc/tmpfiles.d/piserver-wizard-{self.name}.conf"

    @property
    def log_dir(self) -> str:
        return f"/var/log/{self.name}"

    @property
    def error_log(self) -> str:
        return f"{self.log_dir}/{self.name}.err.log"

    @property
    def site_available(self) -> str:
        return f"/etc/nginx/sites-available/{self.name}"

    @property
    def site_enabled(self) -> str:
        return f"/etc/nginx/sites-enabled/{self.name}"

    @property
    def cert_dir(self) -> str:
        return f"{LETSENCRYPT}/live/{self.name}"

    @property
    def socket_dir(self) -> str | None:
        return socket_dir_of(self.bind)

    @property
    def upstream(self) -> str:
        """nginx's proxy_pass target: a unix socket needs the trailing colon."""
        return f"http://{self.bind}:" if self.bind.startswith("unix:") else f"http://{self.bind}"
