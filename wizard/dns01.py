"""DNS-01: the certbot DNS plugins Debian packages, their credentials files, and the arguments for them.

A Pi behind a router that blocks port 80 (or behind CGNAT) cannot pass HTTP-01; with DNS-01 certbot puts
a TXT record in the zone through the DNS provider's API instead. certbot records the plugin and the
credentials path in /etc/letsencrypt/renewal/NAME.conf, so renewal uses the same plugin by itself.

This module is imported by ``schema`` (``--check``), so it stays as light as the interpreter: no
dataclasses, no pathlib, no typing at run time.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Provider -> the settings its credentials file holds, as (ini key, label, secret?). The TUI asks for these
# (a secret one masked) and writes the file; an answers file names a file the admin wrote. Every provider
# here is packaged by Debian bookworm and trixie as python3-certbot-dns-PROVIDER. Left out on purpose:
# "standalone" (it runs its own DNS server on port 53 and needs an NS delegation, no credentials).
PROVIDERS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "cloudflare": (("dns_cloudflare_api_token", "API token", True),),
    "digitalocean": (("dns_digitalocean_token", "API token", True),),
    "dnsimple": (("dns_dnsimple_token", "API token", True),),
    "gandi": (("dns_gandi_api_key", "API key", True),),
    "gehirn": (("dns_gehirn_api_token", "API token", False), ("dns_gehirn_api_secret", "API secret", True)),
    "google": (),  # a service account's JSON key file, written by the admin
    "linode": (("dns_linode_key", "API key", True),),
    "ovh": (("dns_ovh_endpoint", "Endpoint (ovh-eu)", False),
            ("dns_ovh_application_key", "Application key", False),
            ("dns_ovh_application_secret", "Application secret", True),
            ("dns_ovh_consumer_key", "Consumer key", True)),
    "rfc2136": (("dns_rfc2136_server", "DNS server address", False), ("dns_rfc2136_port", "Port (53)", False),
                ("dns_rfc2136_name", "TSIG key name", False), ("dns_rfc2136_secret", "TSIG secret", True),
                ("dns_rfc2136_algorithm", "Algorithm (HMAC-SHA512)", False)),
    "route53": (),  # AWS's own credentials file, read by boto3 from root's home
    "sakuracloud": (("dns_sakuracloud_api_token", "API token", False),
                    ("dns_sakuracloud_api_secret", "API secret", True)),
}

# route53 has no --dns-route53-credentials: boto3 reads this file when certbot runs as root (renewal too).
ROUTE53_CREDENTIALS = "/root/.aws/credentials"
CREDENTIALS_DIR = "/etc/piserver-wizard/dns"


def package(provider: str) -> str:
    return f"python3-certbot-dns-{provider}"


def default_credentials_path(provider: str) -> str:
    """Where the TUI writes a provider's credentials: a root-only folder the wizard owns."""
    return ROUTE53_CREDENTIALS if provider == "route53" else f"{CREDENTIALS_DIR}/{provider}.ini"


def certbot_args(provider: str, credentials: str, propagation_seconds: int) -> list[str]:
    """The authenticator arguments of `certbot certonly`; certbot writes them into the renewal config."""
    args = ["--authenticator", f"dns-{provider}"]
    if provider != "route53":
        args += [f"--dns-{provider}-credentials", credentials]
    if propagation_seconds:
        args += [f"--dns-{provider}-propagation-seconds", str(propagation_seconds)]
    return args


def _folder_problem(path: str) -> str | None:
    """Root must not read a file through a folder another user could swap (a symlink put in its place)."""
    folder = os.path.dirname(path)
    while True:
        try:
            info = os.lstat(folder)
        except OSError as error:
            return f"its folder {folder} cannot be read ({error.strerror})"
        if not stat.S_ISDIR(info.st_mode):
            return f"{folder} is not a folder"
        if info.st_uid != 0 or info.st_mode & 0o022:
            return f"it lies under {folder}, which a user other than root can change"
        if folder == "/":
            return None
        folder = os.path.dirname(folder)


def credentials_problem(path: str) -> str | None:
    """Why ``path`` is not a credentials file root alone can read; None when it is one."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "no such file (write it first, as root, mode 0600)"
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    if stat.S_ISLNK(info.st_mode):
        return "is a symlink; name the file itself"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_uid != 0:
        return "must be owned by root (chown root:root it)"
    if info.st_mode & 0o077:
        return f"must be readable by root only (chmod 600 it; its mode is {stat.S_IMODE(info.st_mode):04o})"
    return _folder_problem(path)


def credentials_text(provider: str, values: dict[str, Any]) -> str:
    """The ini file certbot's plugin reads, from the values the TUI asked for (secrets included)."""
    from .render import render

    keys = [key for key, _label, _secret in PROVIDERS[provider]]
    return render("dns-credentials.ini.j2", provider=provider,
                  settings=[(key, str(values.get(key, "")).strip()) for key in keys])


def secrets_of(provider: str, values: dict[str, Any]) -> list[str]:
    """The secret values among the credentials: what a test greps every log, state and screen for."""
    return [str(values[key]) for key, _label, secret in PROVIDERS[provider] if secret and values.get(key)]


def write_credentials(path: str, text: str) -> None:
    """Write the file root-only (0600), in a root-only folder (0700) the wizard owns."""
    from pathlib import Path

    from .files import write_atomic

    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    problem = _folder_problem(path)
    if problem:
        raise PermissionError(f"{path}: {problem}")
    write_atomic(Path(path), text.encode(), mode=0o600)
