"""HTTPS: a certificate from the ACME server (certbot), the deploy hook that reloads nginx, a renewal test.

Both modes live here, so certbot's part of the nginx site is in one place: in ``certonly`` the wizard writes
the TLS block (``site.tls``); in ``certbot-nginx`` certbot edits the site and the wizard keeps what it left.
"""

from __future__ import annotations

from .. import certs
from ..commands import Command
from ..files import PlannedFile, hash_of
from ..layout import DEPLOY_HOOK, WEBROOT
from ..plan import Step
from ..render import render
from . import site
from .context import Context, done_when_inputs_unchanged


def _cert_matches(ctx: Context) -> bool:
    info = certs.read(ctx.answers.app.name)
    return (info is not None and info.names == frozenset(ctx.answers.site.domains)
            and info.server == ctx.answers.https.directory_url)


def _common_args(ctx: Context) -> list[str]:
    answers = ctx.answers
    domain_args = [arg for name in answers.site.domains for arg in ("-d", name)]
    # The e-mail is optional: Let's Encrypt stopped sending expiry mail in June 2025, and an account needs none.
    contact = ["-m", answers.https.email] if answers.https.email else ["--register-unsafely-without-email"]
    return ["-n", "--agree-tos", *contact, "--cert-name", answers.app.name, *domain_args,
            "--server", answers.https.directory_url]


def _hook(ctx: Context) -> PlannedFile:
    return PlannedFile(DEPLOY_HOOK, render("deploy-hook.sh.j2", systemd=ctx.services.systemd), mode=0o755)


def _certonly(ctx: Context) -> list[Step]:
    domains = ctx.answers.site.domains
    command = Command.of("certbot", "certonly", "--webroot", "-w", WEBROOT, *_common_args(ctx), timeout=600,
                         needs=("ca-bundle",))
    return [Step("certificate", f"Get a certificate for {', '.join(domains)}", commands=[command],
                 files=[_hook(ctx)], is_done=lambda: _cert_matches(ctx),
                 inputs={"domains": domains, "server": ctx.answers.https.directory_url}),
            *site.tls(ctx)]


def _certbot_nginx(ctx: Context) -> list[Step]:
    https, site_path, state_files = ctx.answers.https, ctx.layout.site_available, ctx.state_files
    redirect = "--redirect" if https.redirect else "--no-redirect"
    hsts = ["--hsts"] if https.redirect else []  # as the wizard's own TLS block: HSTS when HTTP redirects
    command = Command.of("certbot", "run", "--nginx", redirect, *hsts, *_common_args(ctx), timeout=600,
                         needs=("ca-bundle",))
    return [Step(
        "certificate", f"Get a certificate and let certbot configure nginx ({redirect})",
        commands=[command], files=[_hook(ctx)], validate=[site.nginx_test()], tracks=[site_path],
        inputs={"domains": ctx.answers.site.domains, "server": https.directory_url, "redirect": https.redirect},
        remember_inputs=True,
        is_done=lambda: _cert_matches(ctx) and state_files.get(site_path) == hash_of(site_path))]


def renew_test(ctx: Context) -> list[Step]:
    https = ctx.answers.https
    # certbot's dry run swaps Let's Encrypt for its staging server by itself; any other CA must be named.
    dry_run_server = [] if https.acme_server == "letsencrypt" else ["--server", https.directory_url]
    return [Step(
        "renew-dry-run", "Test renewal (certbot renew --dry-run)",
        commands=[Command.of("certbot", "renew", "--dry-run", "--cert-name", ctx.answers.app.name, "-n",
                             "--no-random-sleep-on-renew", *dry_run_server, timeout=600, needs=("ca-bundle",))],
        inputs={"domains": ctx.answers.site.domains, "server": https.directory_url}, remember_inputs=True,
        is_done=done_when_inputs_unchanged, safe_to_skip=True)]


def certificate(ctx: Context) -> list[Step]:
    return _certonly(ctx) if ctx.answers.https.mode == "certonly" else _certbot_nginx(ctx)
