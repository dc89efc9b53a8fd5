"""Certbot's failures told in plain words: the CA's own texts (Let's Encrypt's and pebble's) classified."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wizard import diagnose as d

LOCAL = ["192.168.1.50", "fd00::50", "127.0.0.1", "::1"]


def _certbot(domain: str, kind: str, detail: str) -> str:
    return ("Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
            f"reported these problems:\n  Domain: {domain}\n  Type:   {kind}\n  Detail: {detail}\n\n"
            "Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.\n")


@pytest.mark.parametrize("kind,detail,code,words", [
    ("dns", "DNS problem: NXDOMAIN looking up A for pi.example.com - check that a DNS record exists for this "
            "domain; DNS problem: NXDOMAIN looking up AAAA for pi.example.com", "no-dns", "does not resolve"),
    ("connection", 'Get "http://pi.lab.test:5002/.well-known/acme-challenge/x": could not resolve URL '
                   '"http://pi.lab.test:5002/.well-known/acme-challenge/x"', "no-dns", "does not resolve"),
    ("connection", "203.0.113.5: Fetching http://pi.example.com/.well-known/acme-challenge/x: Timeout during "
                   "connect (likely firewall problem)", "port80", "could not connect to port 80"),
    ("connection", 'Get "http://pi.lab.test:5002/.well-known/acme-challenge/x": dial tcp 127.0.0.1:5002: '
                   "connect: connection refused", "port80", "dns-01"),
    ("unauthorized", "2001:db8::7: Invalid response from http://pi.example.com/.well-known/acme-challenge/x: 404",
     "aaaa-elsewhere", "IPv6 (AAAA) record, 2001:db8::7"),
    ("unauthorized", "198.51.100.9: Invalid response from http://pi.example.com/.well-known/acme-challenge/x: "
                     "404", "elsewhere", "another web server at 198.51.100.9"),
    ("caa", "CAA record for pi.example.com prevents issuance", "other", "prevents issuance"),
])
def test_each_failure_has_its_words(kind, detail, code, words):
    found = d.diagnose(_certbot("pi.example.com", kind, detail), LOCAL)
    assert [x.code for x in found] == [code]
    assert words in found[0].text


def test_port80_offers_the_switch():
    text = d.explain(_certbot("pi.example.com", "connection", "203.0.113.5: Fetching http://x: Timeout during "
                                                              "connect (likely firewall problem)"), LOCAL)
    assert text.startswith("Error: the certificate authority could not connect to port 80 of pi.example.com")
    assert d.SWITCH_MARK in text


def test_rate_limit_says_when_to_retry():
    output = ("An unexpected error occurred:\nError creating new order :: too many certificates (5) already "
              "issued for this exact set of domains in the last 168h0m0s, retry after 2026-12-03T10:00:00Z: see "
              "https://letsencrypt.org/docs/rate-limits/\n")
    found = d.diagnose(output, LOCAL)
    assert found[0].code == "rate-limited" and "retry after 2026-12-03T10:00:00Z" in found[0].text


def test_an_ipv6_address_of_this_pi_is_not_elsewhere():
    found = d.diagnose(_certbot("pi.example.com", "connection", "fd00::50: Fetching http://x: Timeout during "
                                                               "connect (likely firewall problem)"), LOCAL)
    assert found[0].code == "port80"


def test_the_wrapper_passes_output_and_exit_code_through(tmp_path):
    """A stand-in certbot on PATH: its output comes through unchanged, then the explanation."""
    fake = tmp_path / "certbot"
    fake.write_text("#!/bin/sh\necho 'Simulating a certificate request'\nprintf '  Domain: a.example.com\\n"
                    "  Type:   dns\\n  Detail: DNS problem: NXDOMAIN looking up A for a.example.com\\n'\nexit 1\n")
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "wizard.diagnose", "certbot", "certonly"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stdout.startswith("Simulating a certificate request\n")
    assert done.stdout.rstrip().splitlines()[-1].startswith("Error: a.example.com does not resolve")
    refused = subprocess.run([sys.executable, "-m", "wizard.diagnose", "rm", "-rf", "/x"], capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2
