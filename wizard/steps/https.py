"""HTTPS: a certificate from the ACME server (certbot), the deploy hook that reloads nginx, a renewal test.

Both modes live here, so certbot's part of the nginx site is in one place: in ``certonly`` the wizard writes
the TLS block (``site.tls``); in ``certbot-nginx`` certbot edits the site and the wizard keeps what it left.
"""

from __future__ import annotations

import sys

from .. import certs, dns01
from ..commands import Command
from ..files import PlannedFile, hash_of
from ..layout import DEPLOY_HOOK, WEBROOT
from ..plan import Step
from ..render import render
from . import site
from .context import Context, done_when_inputs_unchanged


def _cert_matches(ctx: Context) -> bool:
    """Names, CA and, in certonly mode, the way of proof: renewal repeats it (webroot cannot pass port 80)."""
    info, https = certs.read(ctx.answers.app.name), ctx.answers.https
    if info is None or info.names != frozenset(ctx.answers.site.domains) or info.server != https.directory_url:
        return False
    return https.mode != "certonly" or info.authenticator in ("", _authenticator(ctx))


def _authenticator(ctx: Context) -> str:
    https = ctx.answers.https
    return f"dns-{https.dns_provider}" if https.challenge == "dns-01" else "webroot"


def _common_args(ctx: Context) -> list[str]:
    answers = ctx.answers
    domain_args = [arg for name in answers.site.domains for arg in ("-d", name)]
    # The e-mail is optional: Let's Encrypt stopped sending expiry mail in June 2025, and an account needs none.
    contact = ["-m", answers.https.email] if answers.https.email else ["--register-unsafely-without-email"]
    return ["-n", "--agree-tos", *contact, "--cert-name", answers.app.name, *domain_args,
            "--server", answers.https.directory_url]


def _hook(ctx: Context) -> PlannedFile:
    return PlannedFile(DEPLOY_HOOK, render("deploy-hook.sh.j2", systemd=ctx.services.systemd), mode=0o755)


def diagnosed(*argv: str) -> Command:
    """certbot through wizard.diagnose, which passes its output on and says in plain words why it failed.

    ``-I``: root's Python must not import from the current folder or take PYTHON* variables."""
    return Command.of(sys.executable, "-I", "-m", "wizard.diagnose", *argv, timeout=600, needs=("ca-bundle",))


def _challenge_args(ctx: Context) -> list[str]:
    """HTTP-01 through nginx's challenge folder, or DNS-01 through the provider's plugin."""
    https = ctx.answers.https
    if https.challenge == "dns-01":
        return dns01.certbot_args(https.dns_provider, https.dns_credentials, https.dns_propagation_seconds)
    return ["--webroot", "-w", WEBROOT]


def certonly_commands(ctx: Context) -> list[Command]:
    """With HTTP-01, a dry run first (certbot --dry-run: Let's Encrypt's staging server for Let's Encrypt):
    a name that cannot pass costs the real CA's rate limits nothing, and the order is never made."""
    https, common, how = ctx.answers.https, _common_args(ctx), _challenge_args(ctx)
    # A certificate there already (other names or another way of proof): certbot must not keep it as is.
    again = ["--force-renewal"] if ctx.app_facts.has_certificate else []
    commands = [diagnosed("certbot", "certonly", *how, *again, *common)]
    if https.challenge == "http-01" and https.acme_server != "letsencrypt-staging":
        staging = common[:-2] if https.acme_server == "letsencrypt" else common  # certbot picks staging itself
        commands.insert(0, diagnosed("certbot", "certonly", "--dry-run", *how, *staging))
    return commands


def _certonly(ctx: Context) -> list[Step]:
    domains = ctx.answers.site.domains
    https = ctx.answers.https
    # nginx loads the new certificate now: certbot runs its deploy hooks on `renew` only, and the TLS site
    # may be written already (a certificate kept by `remove`, another CA), so no later step would reload it.
    commands = [*certonly_commands(ctx), ctx.services.reload("nginx")]
    return [Step("certificate", f"Get a certificate for {', '.join(domains)}", commands=commands,
                 files=[_hook(ctx)], is_done=lambda: _cert_matches(ctx),
                 inputs={"domains": domains, "server": https.directory_url, "challenge": https.challenge,
                         "provider": https.dns_provider}),
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
