"""What a run after a kill plans: steps the killed run finished stay finished (the kill matrix's findings).

A run killed after the certificate, before "Serve HTTPS" wrote the TLS block, left a certificate and the
plain site. The next run must find "Serve kill.test with nginx" done (its plain site is current) and let
"Serve HTTPS" write the TLS block, not have the earlier step rewrite the site it had finished.
"""

from __future__ import annotations

from test_plan_render import facts, make_answers

from wizard.facts import AppFacts, _has_tls_block
from wizard.plan import build_plan
from wizard.services import Services


def _site(app_facts: AppFacts) -> str:
    return build_plan(make_answers(), facts(), Services(True), app_facts=app_facts).step("nginx-site").files[0].content


def test_a_certificate_without_the_tls_site_keeps_the_plain_site() -> None:
    content = _site(AppFacts(home="/home/pi", has_certificate=True, site_serves_tls=False))
    assert "ssl_certificate" not in content and "listen 80" in content


def test_a_site_serving_tls_keeps_tls_on_a_re_run() -> None:
    content = _site(AppFacts(home="/home/pi", has_certificate=True, site_serves_tls=True))
    assert "ssl_certificate " in content and "return 301 https://" in content


def test_no_certificate_no_tls_whatever_the_site_says() -> None:
    assert "ssl_certificate" not in _site(AppFacts(home="/home/pi", site_serves_tls=True))


def test_the_tls_block_is_told_by_a_certificate_line_not_a_comment() -> None:
    assert _has_tls_block(b"server {\n    listen 443 ssl;\n    ssl_certificate /etc/x/fullchain.pem;\n}\n")
    assert not _has_tls_block(b"server {\n    # ssl_certificate comes once certbot has one\n    listen 80;\n}\n")
    assert not _has_tls_block(None) and not _has_tls_block(b"")


def test_a_process_older_than_its_file_is_told_from_a_younger_one(tmp_path, monkeypatch) -> None:
    """verify.started_before_written on this test's own process, supervisor's answer given."""
    import os
    import time

    from wizard import verify

    monkeypatch.setattr(verify, "_supervisor_rpc_info", lambda program, path: {"pid": os.getpid()})
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 2\n")
    assert verify.started_before_written("kilt", str(conf))  # written after this process started
    long_ago = time.time() - 10 * 365 * 86400
    os.utime(conf, (long_ago, long_ago))
    assert not verify.started_before_written("kilt", str(conf))
    monkeypatch.setattr(verify, "_supervisor_rpc_info", lambda program, path: {"pid": 0})
    assert not verify.started_before_written("kilt", str(conf))  # nothing running: the other checks' case
