"""The plan for the home cases: DNS-01 (no port 80), the local CA (no public CA at all), the dry run first."""

from __future__ import annotations

from test_plan_render import facts, make_answers

from wizard.facts import AppFacts
from wizard.plan import build_plan
from wizard.services import Services

HOME = AppFacts(home="/home/pi")


def _dns01(**changes: object):
    return make_answers(https__challenge="dns-01", https__dns_provider="cloudflare",
                        https__dns_credentials="/etc/piserver-wizard/dns/cloudflare.ini",
                        https__dns_propagation_seconds=30, **changes)


def test_dns01_asks_the_plugin_and_no_dry_run_over_http() -> None:
    plan = build_plan(_dns01(site__domains=["example.com", "*.example.com"]), facts(), Services(False),
                      app_facts=HOME)
    only, reload = plan.step("certificate").commands
    assert reload.argv == ("service", "nginx", "reload")  # certbot runs deploy hooks on renew only
    argv = only.argv[only.argv.index("certbot"):]
    assert argv[:4] == ("certbot", "certonly", "--authenticator", "dns-cloudflare")
    assert argv[argv.index("--dns-cloudflare-credentials") + 1] == "/etc/piserver-wizard/dns/cloudflare.ini"
    assert argv[argv.index("--dns-cloudflare-propagation-seconds") + 1] == "30"
    assert "--webroot" not in argv and "--dry-run" not in argv
    assert "python3-certbot-dns-cloudflare" in plan.step("packages").commands[0].argv
    probes = " ".join(p.description for p in plan.step("verify").probes)
    assert "https://www.example.com/" in probes and "*." not in probes  # a name under the wildcard is checked


def test_http01_against_lets_encrypt_dry_runs_on_staging_first() -> None:
    plan = build_plan(make_answers(), facts(), Services(False), app_facts=HOME)
    dry, real, _reload = plan.step("certificate").commands
    assert "--dry-run" in dry.argv and "--server" not in dry.argv  # certbot's dry run is Let's Encrypt staging
    assert real.argv[real.argv.index("--server") + 1] == "https://acme-v02.api.letsencrypt.org/directory"
    assert dry.argv[1:4] == ("-I", "-m", "wizard.diagnose")


def test_staging_needs_no_dry_run() -> None:
    plan = build_plan(make_answers(https__acme_server="letsencrypt-staging"), facts(), Services(False),
                      app_facts=HOME)
    assert len(plan.step("certificate").commands) == 2  # certbot, then nginx reloads


def test_an_existing_certificate_is_replaced_when_the_proof_changes() -> None:
    had = AppFacts(home="/home/pi", has_certificate=True)
    only, _reload = build_plan(_dns01(), facts(), Services(False), app_facts=had).step("certificate").commands
    assert "--force-renewal" in only.argv


def test_local_ca_plan_has_no_certbot_and_one_renewal_job() -> None:
    answers = make_answers(site__domains=["testpi.local", "garden.local"], https__mode="local-ca",
                           site__serve_lan_addresses=True)
    plan = build_plan(answers, facts(ip_addresses=["192.168.1.50", "fd00::50"]), Services(False), app_facts=HOME)
    ids = [s.id for s in plan.steps]
    assert "renew-dry-run" not in ids and "certificate" not in ids
    assert ids.index("local-ca-script") < ids.index("local-certificate") < ids.index("nginx-tls") < ids.index("renewal")
    assert ids.count("renewal") == 1
    script = plan.step("local-ca-script").files[0]
    assert script.mode == 0o700 and "subjectAltName=DNS:testpi.local,DNS:garden.local,IP:192.168.1.50" in script.content
    cron = plan.step("renewal").files[0]
    assert cron.path == "/etc/cron.d/piserver-wizard-local-ca-hello" and "root /etc/piserver-wizard/hello/" in cron.content
    aliases = [f for f in plan.step("avahi").files if "avahi-publish" in f.content]
    assert len(aliases) == 1 and "garden.local 192.168.1.50" in aliases[0].content
    assert "testpi.local" not in aliases[0].content  # avahi-daemon answers its own name
    site = plan.step("nginx-tls").files[0].content
    assert "ssl_certificate /etc/piserver-wizard/local-certs/hello/fullchain.pem;" in site
    assert "location = /piserver-wizard-ca.crt" in site and "192.168.1.50" in site
    installs = plan.step("packages").commands[0].argv
    assert {"openssl", "avahi-daemon", "avahi-utils"} <= set(installs) and "certbot" not in installs


def test_local_ca_on_systemd_is_a_timer() -> None:
    answers = make_answers(site__domains=["testpi.local"], https__mode="local-ca")
    step = build_plan(answers, facts(systemd=True), Services(True), app_facts=HOME).step("renewal")
    assert [f.path for f in step.files] == ["/etc/systemd/system/piserver-wizard-local-ca-hello.service",
                                            "/etc/systemd/system/piserver-wizard-local-ca-hello.timer"]
    assert step.commands[0].argv == ("systemctl", "enable", "--now", "piserver-wizard-local-ca-hello.timer")
