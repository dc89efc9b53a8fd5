"""nginx: the app's site on port 80 (the ACME challenge folder, the proxy to gunicorn), then TLS on 443."""

from __future__ import annotations

from .. import verify
from ..commands import Command
from ..files import AppFolder, Link, PlannedFile, hash_of
from ..layout import DEFAULT_SITE_LINK, WEBROOT
from ..plan import Check, Probe, Step
from ..render import render
from .context import Context


def site_file(ctx: Context, tls: bool) -> PlannedFile:
    answers, layout = ctx.answers, ctx.layout
    return PlannedFile(layout.site_available, render(
        "nginx-site.conf.j2", app=answers.app, domains=answers.site.domains, upstream=layout.upstream,
        webroot=WEBROOT, tls=tls, redirect=answers.https.redirect, cert_dir=layout.cert_dir, ipv6=ctx.facts.ipv6))


def nginx_test() -> Command:
    return Command.of("nginx", "-t", timeout=60)


def served(name: str, redirect: bool, text: str | None) -> Check:
    return lambda: verify.eventually(lambda: verify.check_http(name, expect_redirect=redirect, expect_text=text))


def _links(ctx: Context) -> list[Link]:
    links = [Link(ctx.layout.site_enabled, ctx.layout.site_available)]
    if ctx.answers.site.disable_default_site:
        links.append(Link(DEFAULT_SITE_LINK, None))
    return links


def site(ctx: Context) -> list[Step]:
    answers, layout, https = ctx.answers, ctx.layout, ctx.answers.https
    # A certificate already there (a re-run) means the site can be written with TLS straight away.
    tls_now = https.enabled and https.mode == "certonly" and ctx.app_facts.has_certificate
    redirect_now = tls_now and https.redirect
    links = _links(ctx)
    step = Step(
        "nginx-site", f"Serve {', '.join(answers.site.domains)} with nginx",
        folders=[AppFolder(WEBROOT, None)],
        files=[site_file(ctx, tls_now)], links=links, validate=[nginx_test()],
        on_change=[ctx.services.reload("nginx")],
        inputs={"domains": answers.site.domains, "bind": answers.app.bind, "https": [https.enabled, https.mode]},
        # `nginx reload` returns before new workers serve the new names; the certificate request that
        # follows needs them, so the step ends only when every name is served by this site.
        probes=[Probe(f"nginx serves http://{name}/ from the new site", served(name, redirect_now, ctx.sample_text))
                for name in answers.site.domains],
    )
    if https.enabled and https.mode == "certbot-nginx":
        # certbot --nginx edits the site after us: what it left is accepted while the inputs are the same.
        site_path, state_files = layout.site_available, ctx.state_files
        step.remember_inputs = True
        step.tracks = [site_path]
        step.is_done = lambda: state_files.get(site_path) == hash_of(site_path) and \
            all(link.is_current() for link in links)
    return [step]


def tls(ctx: Context) -> list[Step]:
    """certonly mode: the wizard writes the TLS server block itself once the certificate is there."""
    title = "Serve HTTPS" + (" and redirect HTTP to it" if ctx.answers.https.redirect else "")
    return [Step("nginx-tls", title, files=[site_file(ctx, True)], validate=[nginx_test()],
                 on_change=[ctx.services.reload("nginx")])]
