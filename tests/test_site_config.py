"""What the wizard writes for nginx: the catch-all, each app's site, Debian's nginx.conf tuned; each file
checked by a real `nginx -t` and graded by gixy-ng, alone and together (two apps, Debian's default site)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from nginx_checks import gixy, nginx_t, summary, wrap

from wizard import nginx_conf
from wizard.answers import Answers
from wizard.facts import AppFacts, Facts
from wizard.plan import build_plan
from wizard.services import Services
from wizard.steps.site import TunedNginxConf
from wizard.validators import Invalid, upload_size

APP_FACTS = AppFacts(home="/home/pi")  # given, not probed: these tests plan without root

DEBIAN_NGINX_CONF = """\
user www-data;
worker_processes auto;
pid /run/nginx.pid;
events {
\tworker_connections 768;
}
http {
\tsendfile on;
\t# server_tokens off;
\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
\tssl_prefer_server_ciphers on;
\tinclude /etc/nginx/sites-enabled/*;
}
"""


def test_debian_nginx_conf_gets_only_its_weak_lines_changed() -> None:
    tuned = nginx_conf.tuned(DEBIAN_NGINX_CONF)
    assert "\tssl_protocols TLSv1.2 TLSv1.3; # piserver-wizard" in tuned
    assert "\tssl_prefer_server_ciphers off; # piserver-wizard" in tuned
    assert "\tserver_tokens off; # piserver-wizard" in tuned
    assert "worker_processes auto;\nworker_rlimit_nofile 1536; # piserver-wizard" in tuned
    assert "TLSv1.1" not in tuned
    assert tuned.count("\n") == DEBIAN_NGINX_CONF.count("\n") + 1  # one line added, none removed
    assert nginx_conf.tuned(tuned) == tuned  # a re-run changes nothing


def test_an_owners_own_choices_in_nginx_conf_are_kept() -> None:
    own = (DEBIAN_NGINX_CONF.replace("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "TLSv1.3")
           .replace("# server_tokens off;", "server_tokens build;")
           .replace("worker_processes auto;", "worker_processes 2;\nworker_rlimit_nofile 4096;"))
    tuned = nginx_conf.tuned(own)
    assert "ssl_protocols TLSv1.3; # Dropping SSLv3" in tuned
    assert "server_tokens build;" in tuned and "server_tokens off" not in tuned
    assert tuned.count("worker_rlimit_nofile") == 1


def test_default_server_claims_are_read_per_port(tmp_path: Path) -> None:
    (tmp_path / "sites-enabled").mkdir()
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "nginx.conf").write_text(DEBIAN_NGINX_CONF)
    (tmp_path / "sites-enabled" / "default").write_text(
        "server {\n listen 80 default_server;\n listen [::]:80 default_server;\n}\n")
    (tmp_path / "conf.d" / "other.conf").write_text(
        "server {\n listen 127.0.0.1:8443 ssl default_server; # x\n listen 443;\n}\n")
    (tmp_path / "sites-enabled" / "mine").write_text("server {\n listen 443 ssl default_server;\n}\n")
    found = nginx_conf.probe(str(tmp_path))
    assert found.claimed_elsewhere({str(tmp_path / "sites-enabled" / "mine")}) == {80, 8443}
    assert nginx_conf.probe(str(tmp_path / "missing")) == nginx_conf.NginxConfig()


@pytest.mark.parametrize("value, expected", [("10m", "10m"), ("512K", "512k"), ("1g", "1g"), ("100", "100"),
                                             (" 4g ", "4g")])
def test_upload_sizes_in_nginx_syntax(value: str, expected: str) -> None:
    assert upload_size(value) == expected


@pytest.mark.parametrize("value", ["0", "10 m", "10mb", "-1", "5g", "1t", "", 10, "10m;", "1e3"])
def test_upload_sizes_nginx_would_misread_are_refused(value: object) -> None:
    with pytest.raises(Invalid):
        upload_size(value)


# --- the plan's nginx files together, as nginx loads them: `nginx -t` and gixy-ng

@pytest.fixture(scope="module")
def nginx(as_root: None) -> str:
    if not shutil.which("nginx"):
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], check=True, timeout=900,
                       env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def ecdsa_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cert")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-keyout", str(folder / "privkey.pem"),
                    "-out", str(folder / "fullchain.pem"), "-subj", "/CN=pi.example.com"], check=True,
                   capture_output=True)
    return folder


def make_answers(name: str = "hello", domains: tuple[str, ...] = ("pi.example.com", "www.pi.example.com"),
                 **changes: object) -> Answers:
    answers = Answers()
    answers.site.domains = list(domains)
    answers.app.name, answers.app.directory = name, f"/srv/{name}"
    answers.https.email, answers.https.agree_tos = "admin@example.com", True
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        setattr(getattr(answers, section), key, value)
    return answers


def machine(**changes: object) -> Facts:
    return replace(Facts(hostname="testpi", ipv6=True, cores=4, nginx_version="1.22.1"), **changes)


def nginx_files(answers: Answers, facts: Facts, cert: Path) -> dict[str, str]:
    """What the plan leaves in sites-enabled for this app: the catch-all and the site as it ends up."""
    plan = build_plan(answers, facts, Services(False), app_facts=APP_FACTS)
    catchall = plan.step("nginx-catchall").files[0]
    last = plan.step("nginx-tls" if answers.https.enabled and answers.https.mode == "certonly" else "nginx-site")
    site = last.files[0].content.replace(f"/etc/letsencrypt/live/{answers.app.name}", str(cert))
    return {"piserver-wizard-catchall": catchall.content, answers.app.name: site}


VARIANTS = [{}, {"https__redirect": False}, {"https__enabled": False}, {"https__mode": "certbot-nginx"},
            {"app__bind": "unix:/run/hello/gunicorn.sock"}, {"site__max_upload": "512k"}]


@pytest.mark.parametrize("changes", VARIANTS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("ipv6", [True, False])
def test_every_file_passes_nginx_t_and_gixy(nginx: str, ecdsa_cert: Path, tmp_path: Path, changes: dict,
                                            ipv6: bool) -> None:
    answers = make_answers(**changes)
    conf = wrap(tmp_path, nginx_files(answers, machine(ipv6=ipv6), ecdsa_cert))
    checked = nginx_t(conf)
    assert checked.returncode == 0, checked.stderr
    findings = {f["plugin"] for f in gixy(conf)}
    # HTTPS without the redirect gets no HSTS (it would make browsers refuse HTTP): gixy says so, rightly.
    expected = {"hsts_header"} if answers.https.enabled and not answers.https.redirect else set()
    assert findings == expected, summary(gixy(conf))


def test_the_site_says_what_the_answers_say(ecdsa_cert: Path) -> None:
    files = nginx_files(make_answers(site__max_upload="512k"), machine(), ecdsa_cert)
    site = files["hello"]
    assert "client_max_body_size 512k;" in site
    assert "upstream piserver_hello {\n    server 127.0.0.1:4000;" in site
    assert "listen 443 ssl http2;" in site and "http2 on;" not in site
    assert site.count('add_header Strict-Transport-Security "max-age=63072000" always;') == 1  # on 443 only
    assert "disable_symlinks if_not_owner from=/srv/hello;" in site
    assert "ssl_reject_handshake on;" in files["piserver-wizard-catchall"]


def test_nginx_1_25_gets_the_http2_directive(ecdsa_cert: Path) -> None:
    """Text only: this machine's nginx (1.22) does not know `http2 on;`."""
    files = nginx_files(make_answers(), machine(nginx_version="1.26.3"), ecdsa_cert)
    for text in files.values():
        assert "http2 on;" in text and " http2" not in text.replace("http2 on;", "")


def test_two_apps_share_one_catchall(nginx: str, ecdsa_cert: Path, tmp_path: Path) -> None:
    one = nginx_files(make_answers(), machine(), ecdsa_cert)
    two = nginx_files(make_answers("two", ("two.example.com",), app__bind="127.0.0.1:4001"), machine(), ecdsa_cert)
    assert one["piserver-wizard-catchall"] == two["piserver-wizard-catchall"]
    conf = wrap(tmp_path, {**one, **two})
    checked = nginx_t(conf)
    assert checked.returncode == 0, checked.stderr
    assert gixy(conf) == [], summary(gixy(conf))


def debian_default_site() -> str:
    return Path("/etc/nginx/sites-available/default").read_text()


@pytest.mark.parametrize("disable", [True, False])
def test_debian_default_site_and_the_catchall_coexist(nginx: str, ecdsa_cert: Path, tmp_path: Path,
                                                      disable: bool) -> None:
    """Kept, Debian's default stays port 80's default server; the catch-all takes 443 only."""
    default = debian_default_site()
    facts = machine(nginx_config=nginx_conf.NginxConfig(
        {"/etc/nginx/sites-enabled/default": frozenset(nginx_conf.default_server_ports(default))}))
    files = nginx_files(make_answers(site__disable_default_site=disable), facts, ecdsa_cert)
    catchall = files["piserver-wizard-catchall"]
    assert ("listen 80 default_server;" in catchall) == disable
    assert "listen 443 ssl http2 default_server;" in catchall
    enabled = files if disable else {**files, "default": default}
    checked = nginx_t(wrap(tmp_path, enabled))
    assert checked.returncode == 0, checked.stderr


def test_two_default_servers_on_one_port_is_what_the_claims_prevent(nginx: str, ecdsa_cert: Path,
                                                                     tmp_path: Path) -> None:
    """The check above can fail: the catch-all rendered as if nobody claimed port 80, beside Debian's."""
    files = nginx_files(make_answers(site__disable_default_site=False), machine(), ecdsa_cert)
    checked = nginx_t(wrap(tmp_path, {**files, "default": debian_default_site()}))
    assert checked.returncode != 0 and "duplicate default server" in checked.stderr


def test_the_plan_tunes_nginx_conf_in_the_catchalls_step() -> None:
    step = build_plan(make_answers(), machine(), Services(False), app_facts=APP_FACTS).step("nginx-catchall")
    assert [f.path for f in step.files] == ["/etc/nginx/sites-available/piserver-wizard-catchall",
                                           "/etc/nginx/nginx.conf"]
    assert [c.argv for c in step.validate] == [("nginx", "-t")]
    assert any(link.path == "/etc/nginx/sites-enabled/default" and link.target is None for link in step.links)


def test_nginx_conf_is_worked_out_from_the_file_when_the_step_runs(as_root: None, tmp_path: Path) -> None:
    """A first run plans before apt installs nginx: the file is read when asked, not when planned."""
    conf = tmp_path / "nginx.conf"
    planned = TunedNginxConf(str(conf), "")
    assert planned.content == "" and not planned.is_current()  # not there yet: nothing to show
    conf.write_text(DEBIAN_NGINX_CONF)  # apt installed nginx
    assert planned.content == nginx_conf.tuned(DEBIAN_NGINX_CONF)
    assert "+\tssl_protocols TLSv1.2 TLSv1.3;" in planned.diff() and not planned.is_current()
    conf.write_text(planned.content)
    assert planned.is_current() and planned.diff() == ""
