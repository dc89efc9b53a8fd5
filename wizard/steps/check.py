"""The final check, on every run: the program answers, and each name is served over HTTP and HTTPS.

Through 127.0.0.1 with the name as Host and SNI: it tests this machine's nginx whatever DNS says.
"""

from __future__ import annotations

from .. import localca, verify
from ..plan import Probe, Step
from .context import Context
from .site import own_log, served


def verify_site(ctx: Context) -> list[Step]:
    app, https, layout, text = ctx.answers.app, ctx.answers.https, ctx.layout, ctx.sample_text
    probes = [Probe(f"supervisor says {app.name} is RUNNING and it answers on {app.bind}",
                    lambda: verify.wait_serving(app.name, app.bind, layout.error_log, timeout=15))]
    redirect = https.enabled and https.redirect
    local_cert = f"{localca.cert_dir(app.name)}/cert.pem" if https.mode == "local-ca" else None
    for name in map(verify.probe_name, ctx.answers.site.domains):
        probes.append(Probe(f"http://{name}/ {'redirects to HTTPS' if redirect else 'answers'} (via 127.0.0.1)",
                            served(name, redirect, text, own_log(ctx))))
        if https.enabled:
            probes.append(Probe(f"https://{name}/ answers with its certificate (via 127.0.0.1)",
                                lambda n=name: verify.eventually(
                                    lambda: verify.check_https(n, app.name, expect_text=text,
                                                               cert_pem=local_cert))))
    return [Step("verify", f"Check the site answers on {ctx.answers.site.domains[0]}", probes=probes,
                 always=True)]
