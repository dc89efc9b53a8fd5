"""DNS-01 and the new HTTPS keys: the plugin list, the credentials file rule, and the rules between keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from wizard import answers as answers_mod
from wizard import dns01
from wizard.answers import AnswersError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "answers.toml"


@pytest.fixture
def root_folder():
    """A folder only root can change (under /run): /tmp would be refused, and rightly (anyone writes there)."""
    if os.geteuid() != 0:
        pytest.skip("a root-owned credentials file needs root")
    folder = Path(tempfile.mkdtemp(prefix="piserver-wizard-test-", dir="/run"))
    folder.chmod(0o700)
    yield folder
    shutil.rmtree(folder)


def _load(tmp_path: Path, **changes: str) -> answers_mod.Answers:
    """The example with some keys of [https]/[site] replaced (values are TOML text)."""
    text = EXAMPLE.read_text()
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        lines, inside = [], False
        for line in text.splitlines():
            inside = line == f"[{section}]" or (inside and not line.startswith("["))
            lines.append(f"{key} = {value}" if inside and line.startswith(f"{key} = ") else line)
        text = "\n".join(lines) + "\n"
    path = tmp_path / "answers.toml"
    path.write_text(text)
    return answers_mod.load(path)


def test_the_plugins_are_debians():
    """Every provider offered is a package apt knows (the list is checked against the archive, not typed)."""
    apt = shutil.which("apt-cache")
    if apt is None:
        pytest.skip("no apt-cache here")
    out = subprocess.run([apt, "search", "--names-only", "^python3-certbot-dns-"], capture_output=True,
                         text=True, check=True).stdout
    packaged = {line.split(" - ")[0] for line in out.splitlines()}
    assert {dns01.package(p) for p in dns01.PROVIDERS} <= packaged
    assert packaged - {dns01.package(p) for p in dns01.PROVIDERS} <= {"python3-certbot-dns-standalone"}


def test_certbot_args_name_the_plugin_and_its_file():
    assert dns01.certbot_args("rfc2136", "/etc/x.ini", 0) == [
        "--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials", "/etc/x.ini"]
    assert dns01.certbot_args("cloudflare", "/etc/c.ini", 30)[-2:] == ["--dns-cloudflare-propagation-seconds", "30"]
    assert dns01.certbot_args("route53", dns01.ROUTE53_CREDENTIALS, 0) == ["--authenticator", "dns-route53"]


def test_credentials_rule(root_folder: Path):
    good = root_folder / "cloudflare.ini"
    good.write_text("dns_cloudflare_api_token = x\n")
    good.chmod(0o600)
    assert dns01.credentials_problem(str(good)) is None
    good.chmod(0o640)
    assert "chmod 600" in dns01.credentials_problem(str(good))
    good.chmod(0o600)
    os.chown(good, 65534, 65534)
    assert "owned by root" in dns01.credentials_problem(str(good))
    os.chown(good, 0, 0)
    link = root_folder / "link.ini"
    link.symlink_to(good)
    assert "symlink" in dns01.credentials_problem(str(link))
    assert "no such file" in dns01.credentials_problem(str(root_folder / "missing.ini"))
    root_folder.chmod(0o777)
    assert "can change" in dns01.credentials_problem(str(good))


def test_a_file_under_tmp_is_refused(tmp_path: Path):
    """/tmp is anyone's: a file there could be swapped for a link between the check and certbot's read."""
    path = Path(tempfile.mkdtemp(dir="/tmp")) / "c.ini"
    path.write_text("x")
    path.chmod(0o600)
    problem = dns01.credentials_problem(str(path))
    assert problem is not None and ("can change" in problem or "owned by root" in problem)


def test_written_credentials_are_root_only(root_folder: Path):
    path = root_folder / "dns" / "rfc2136.ini"
    values = {"dns_rfc2136_server": "127.0.0.1", "dns_rfc2136_port": "5300", "dns_rfc2136_name": "k.",
              "dns_rfc2136_secret": "c2VjcmV0", "dns_rfc2136_algorithm": "HMAC-SHA256"}
    dns01.write_credentials(str(path), dns01.credentials_text("rfc2136", values))
    assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_uid == 0
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert "dns_rfc2136_secret = c2VjcmV0" in path.read_text()
    assert dns01.secrets_of("rfc2136", values) == ["c2VjcmV0"]
    assert dns01.credentials_problem(str(path)) is None


def test_dns01_answers_with_a_wildcard_load(root_folder: Path, tmp_path: Path):
    creds = root_folder / "cf.ini"
    creds.write_text("dns_cloudflare_api_token = x\n")
    creds.chmod(0o600)
    loaded = _load(tmp_path, site__domains='["example.com", "*.example.com"]', https__challenge='"dns-01"',
                   https__dns_provider='"cloudflare"', https__dns_credentials=f'"{creds}"')
    assert loaded.site.domains == ["example.com", "*.example.com"]
    assert loaded.https.challenge == "dns-01"


def test_wildcard_needs_dns01(tmp_path: Path):
    with pytest.raises(AnswersError, match=r"site\.domains: a wildcard name needs https\.challenge = 'dns-01'"):
        _load(tmp_path, site__domains='["*.example.com"]')


def test_local_names_with_local_ca_or_plain_http(tmp_path: Path):
    assert _load(tmp_path, site__domains='["garden.local"]', https__mode='"local-ca"',
                 https__email='""', https__agree_tos="false").site.domains == ["garden.local"]
    assert _load(tmp_path, site__domains='["garden.local"]', https__enabled="false").https.enabled is False
    with pytest.raises(AnswersError, match=r"site\.domains: garden\.local is a name only your home network knows.*local-ca"):
        _load(tmp_path, site__domains='["garden.local"]')


def test_with_dns01_port80_held_by_another_is_a_warning_only(tmp_path: Path, root_folder: Path):
    from wizard import preflight
    from wizard.facts import Facts, Listener

    creds = root_folder / "cf.ini"
    creds.write_text("x")
    creds.chmod(0o600)
    facts = Facts(listeners=[Listener(80, "lighttpd", 42)], free_disk_bytes=10 ** 10)
    http01 = _load(tmp_path)
    assert [f.level for f in preflight.check(http01, facts) if f.code == "port80"] == ["refuse"]
    dns = _load(tmp_path, https__challenge='"dns-01"', https__dns_provider='"cloudflare"',
                https__dns_credentials=f'"{creds}"')
    assert [f.level for f in preflight.check(dns, facts) if f.code == "port80"] == ["warn"]
