"""nginx: the catch-all shared by every app, the app's site on port 80 (the ACME challenge folder, the
proxy to gunicorn), then TLS on 443."""

from __future__ import annotations

import socket
import ssl

from .. import localca, nginx_conf, site_owner, verify
from ..commands import Command
from ..files import AppFolder, Link, PlannedFile, hash_of, read_root_file
from ..layout import DEFAULT_SITE_LINK, WEBROOT
from ..plan import Check, Probe, Step
from ..render import render
from .context import Context

CATCHALL_AVAILABLE = "/etc/nginx/sites-available/piserver-wizard-catchall"
CATCHALL_ENABLED = "/etc/nginx/sites-enabled/piserver-wizard-catchall"
UNKNOWN_NAME = "unknown-name.piserver-wizard.invalid"  # .invalid: never a real site (RFC 2606)


def local_ca(ctx: Context) -> bool:
    return ctx.answers.https.enabled and ctx.answers.https.mode == "local-ca"


def server_names(ctx: Context) -> list[str]:
    """The names nginx answers to: the domains, and the LAN addresses when the local CA's certificate has them."""
    lan = local_ca(ctx) and ctx.answers.site.serve_lan_addresses
    return ctx.answers.site.domains + (localca.lan_addresses(ctx.facts.ip_addresses) if lan else [])


def access_log(name: str) -> str:
    """The site's own access log: the check that a name is answered by this site looks there."""
    return f"/var/log/nginx/{name}.access.log"


def own_log(ctx: Context) -> str | None:
    """The log that tells this site's answers, or None where certbot edits the site: with its redirect it
    moves port 80 into a server block of its own, which logs to nginx's common access.log."""
    https = ctx.answers.https
    return None if https.enabled and https.mode == "certbot-nginx" else access_log(ctx.answers.app.name)


def site_file(ctx: Context, tls: bool) -> PlannedFile:
    answers, layout, facts, local = ctx.answers, ctx.layout, ctx.facts, local_ca(ctx)
    cert_dir = localca.cert_dir(answers.app.name) if local else layout.cert_dir
    return PlannedFile(layout.site_available, render(
        "nginx-site.conf.j2", app=answers.app, domains=server_names(ctx), webroot=WEBROOT, tls=tls,
        redirect=answers.https.redirect, cert_dir=cert_dir, ipv6=facts.ipv6, catchall=CATCHALL_AVAILABLE,
        local_ca=local, access_log=access_log(answers.app.name),
        upstream_name="piserver_" + answers.app.name.replace("-", "_"), upstream_server=answers.app.bind,
        max_upload=answers.site.max_upload, nginx_version=facts.nginx_version,
        http2_directive=facts.nginx_http2_directive))


def _claims(ctx: Context) -> tuple[bool, bool]:
    """Whether the catch-all may be the default server of port 80 and of 443: not where another enabled
    site already is (two default_server on one port fail `nginx -t`), Debian's default site among them
    when the answers keep it."""
    skip = {CATCHALL_ENABLED} | ({DEFAULT_SITE_LINK} if ctx.answers.site.disable_default_site else set())
    claimed = ctx.facts.nginx_config.claimed_elsewhere(skip)
    return 80 not in claimed, 443 not in claimed


class TunedNginxConf(PlannedFile):
    """Debian's nginx.conf with its weakening lines changed (``nginx_conf.tuned``), worked out from the
    file when asked, not when planned: a first run plans before apt has installed nginx and its
    nginx.conf, and this step runs after. (Nothing there yet: nothing to show, and an empty file that
    `nginx -t` refuses, so the step fails and puts everything back.)"""

    @property  # type: ignore[override]
    def content(self) -> str:
        existing = read_root_file(self.path)
        return nginx_conf.tuned(existing.decode("utf-8", "replace")) if existing is not None else ""

    @content.setter
    def content(self, value: str) -> None:
        """The dataclass's __init__ sets it; the file on disk decides."""


def catchall_files(ctx: Context) -> list[PlannedFile]:
    facts = ctx.facts
    claim_http, claim_https = _claims(ctx)
    return [PlannedFile(CATCHALL_AVAILABLE, render(
                "nginx-catchall.conf.j2", claim_http=claim_http, claim_https=claim_https, ipv6=facts.ipv6,
                nginx_version=facts.nginx_version, http2_directive=facts.nginx_http2_directive)),
            TunedNginxConf(nginx_conf.NGINX_CONF, "")]


def refuses_unknown_names(http: bool, https: bool) -> Check:
    """A name no site serves gets no HTTP response on port 80 and no TLS handshake on 443."""
    def check() -> tuple[bool, str]:
        if http:
            with socket.create_connection(("127.0.0.1", 80), timeout=5) as conn:
                conn.sendall(f"GET / HTTP/1.1\r\nHost: {UNKNOWN_NAME}\r\nConnection: close\r\n\r\n".encode())
                if conn.recv(1):
                    return False, f"http://{UNKNOWN_NAME}/ got an answer from nginx"
        if https:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            try:
                with socket.create_connection(("127.0.0.1", 443), timeout=5) as raw:
                    context.wrap_socket(raw, server_hostname=UNKNOWN_NAME).close()
                return False, f"nginx completed a TLS handshake for {UNKNOWN_NAME}"
            except ssl.SSLError:
                pass
        return True, "names no site serves get no answer"
    return lambda: verify.eventually(check)


def catchall(ctx: Context) -> list[Step]:
    """One file for every app: the default server of ports 80 and 443 (see the template for why)."""
    links = [Link(CATCHALL_ENABLED, CATCHALL_AVAILABLE)]
    if ctx.answers.site.disable_default_site:  # here, not later: Debian's default claims port 80 too
        links.append(Link(DEFAULT_SITE_LINK, None))
    http, https = _claims(ctx)
    return [Step("nginx-catchall", "Refuse names no site serves (nginx's catch-all)",
                 files=catchall_files(ctx), links=links, validate=[nginx_test()],
                 on_change=[ctx.services.reload("nginx")],
                 probes=[Probe("a name no site serves gets no answer (via 127.0.0.1)",
                               refuses_unknown_names(http, https))])]


def nginx_test() -> Command:
    return Command.of("nginx", "-t", timeout=60)


def served(name: str, redirect: bool, text: str | None, log: str | None) -> Check:
    """The name answers as it should, and from this site (not another site naming it too: ``site_owner``;
    ``log`` None: not asked)."""
    def check() -> tuple[bool, str]:
        ok, message = verify.check_http(name, expect_redirect=redirect, expect_text=text)
        if not ok or log is None:
            return ok, message
        here, said = site_owner.answered_here(name, log)
        return here, f"{message}, from this app's site" if here else said

    def probe() -> tuple[bool, str]:
        ok, message = verify.eventually(check)
        return (ok, message) if ok else (ok, message + site_owner.conflict_hint(name))
    return probe


def _links(ctx: Context) -> list[Link]:
    return [Link(ctx.layout.site_enabled, ctx.layout.site_available)]  # Debian's default: the catch-all's step


def site(ctx: Context) -> list[Step]:
    answers, layout, https = ctx.answers, ctx.layout, ctx.answers.https
    # A re-run where the site serves TLS already keeps it (no plain-HTTP moment). A certificate alone is not
    # enough: a run killed after it, before "Serve HTTPS" wrote the TLS block, would have this step rewrite
    # the site it finished and leave the later step's work to it; the later step does it instead.
    certificate = (https.enabled and https.mode == "certonly" and ctx.app_facts.has_certificate) or \
        (local_ca(ctx) and ctx.app_facts.has_local_certificate)
    tls_now = certificate and ctx.app_facts.site_serves_tls
    redirect_now = tls_now and https.redirect
    links = _links(ctx)
    step = Step(
        "nginx-site", f"Serve {', '.join(answers.site.domains)} with nginx",
        folders=[AppFolder(WEBROOT, None)],
        files=[site_file(ctx, tls_now)], links=links, validate=[nginx_test()],
        on_change=[ctx.services.reload("nginx")],
        inputs={"domains": answers.site.domains, "bind": answers.app.bind, "https": [https.enabled, https.mode],
                "max_upload": answers.site.max_upload},
        # `nginx reload` returns before new workers serve the new names; the certificate request that
        # follows needs them, so the step ends only when every name is served by this site.
        probes=[Probe(f"nginx serves http://{name}/ from the new site",
                      served(name, redirect_now, ctx.sample_text, own_log(ctx)))
                for name in map(verify.probe_name, answers.site.domains)],
    )
    if https.enabled and https.mode == "certbot-nginx":
        # certbot --nginx edits the site after us: what it left is accepted while the inputs are the same.
        site_path, state_files = layout.site_available, ctx.state_files
        step.remember_inputs = True
        step.tracks = [site_path]
        step.is_done = lambda: state_files.get(site_path) == hash_of(site_path) and \
            all(link.is_current() for link in links)
    return [*catchall(ctx), step]


def tls(ctx: Context) -> list[Step]:
    """certonly mode: the wizard writes the TLS server block itself once the certificate is there."""
    title = "Serve HTTPS" + (" and redirect HTTP to it" if ctx.answers.https.redirect else "")
    return [Step("nginx-tls", title, files=[site_file(ctx, True)], validate=[nginx_test()],
                 on_change=[ctx.services.reload("nginx")])]
