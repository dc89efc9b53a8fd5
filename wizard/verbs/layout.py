"""Every path one app uses, as the plan lays them out.

Interim: the integrator's ``wizard.layout.AppLayout`` (issue 17) becomes the one source of these paths;
until it lands the verbs read them from here, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..answers import Answers
from ..certs import live_dir


@dataclass(frozen=True)
class AppPaths:
    name: str
    directory: str
    conf_dir: str
    gunicorn_conf: str
    supervisor_conf: str
    site_available: str
    site_enabled: str
    tmpfiles: str
    socket_dir: str | None
    log_dir: str
    out_log: str
    err_log: str
    nginx_access_log: str
    nginx_error_log: str
    cert_dir: str


def paths_of(answers: Answers) -> AppPaths:
    app = answers.app
    log_dir = f"/var/log/{app.name}"
    return AppPaths(
        name=app.name, directory=app.directory,
        conf_dir=f"/etc/piserver-wizard/{app.name}",
        gunicorn_conf=f"/etc/piserver-wizard/{app.name}/gunicorn.conf.py",
        supervisor_conf=f"/etc/supervisor/conf.d/{app.name}.conf",
        site_available=f"/etc/nginx/sites-available/{app.name}",
        site_enabled=f"/etc/nginx/sites-enabled/{app.name}",
        tmpfiles=f"/etc/tmpfiles.d/piserver-wizard-{app.name}.conf",
        socket_dir=app.socket_dir,
        log_dir=log_dir, out_log=f"{log_dir}/{app.name}.out.log", err_log=f"{log_dir}/{app.name}.err.log",
        nginx_access_log=f"/var/log/nginx/{app.name}.access.log",
        nginx_error_log=f"/var/log/nginx/{app.name}.error.log",
        cert_dir=str(live_dir(app.name)),
    )
