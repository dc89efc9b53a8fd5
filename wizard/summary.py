"""What a person needs after the install: where things are and how to look after them."""

from __future__ import annotations

from .answers import Answers
from .facts import Facts
from .layout import CRON_FILE, AppLayout
from .services import Services
from .steps.context import renewal_method


def summary_lines(answers: Answers, facts: Facts, answers_path: str, log_path: str) -> list[tuple[str, str]]:
    app, https = answers.app, answers.https
    scheme = "https" if https.enabled else "http"
    services = Services(facts.systemd)
    layout = AppLayout.of(answers)
    restart = f"sudo piserver-wizard restart {app.name}"  # graceful: supervisorctl's drops requests
    lines = [("Site", "  ".join(f"{scheme}://{d}/" for d in answers.site.domains)),
             ("This Pi", "  ".join(facts.ip_addresses) or "(no address found)"),
             ("App", f"{app.directory} (venv: {app.venv}), gunicorn -w {app.workers} -b {app.bind} as {app.user}"),
             ("Restart the app", restart),
             ("App logs", f"{layout.log_dir}/  (nginx: /var/log/nginx/{app.name}.*.log)"),
             ("Services", f"nginx, supervisor via {services.name}")]
    if https.enabled and https.mode == "local-ca":
        lines += _local_ca_lines(answers, services)
    elif https.enabled:
        method = renewal_method(answers, services)
        how = "certbot.timer (systemd)" if method == "timer" else f"cron {https.cron_schedule} in {CRON_FILE}"
        lines.append(("Certificates", f"{layout.cert_dir}/, renewed by {how}"))
    lines.append(("Answers", answers_path))
    lines.append(("Run log", log_path))
    return lines


def _local_ca_lines(answers: Answers, services: Services) -> list[tuple[str, str]]:
    """Where the local CA's certificate is, its one renewal job, and how each device comes to trust it."""
    from . import localca

    name = localca.job_name(answers.app.name)
    how = f"{name}.timer (systemd)" if renewal_method(answers, services) == "timer" else \
        f"cron {answers.https.cron_schedule} in /etc/cron.d/{name}"
    return [("Certificates", f"{localca.cert_dir(answers.app.name)}/ from the local CA ({localca.CA_DIR}), "
                             f"renewed by {how}"),
            *localca.trust_lines(answers.site.domains[0])]
