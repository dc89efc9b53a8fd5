"""What the wizard writes for nginx: the catch-all, each app's site, Debian's nginx.conf tuned; each file
checked by a real `nginx -t` and graded by gixy-ng, alone and together (two apps, Debian's default site)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nginx_checks import gixy, nginx_t, summary, wrap
from wizard import nginx_conf
from wizard.validators import Invalid, upload_size

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
    assert found.main_conf == DEBIAN_NGINX_CONF
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
