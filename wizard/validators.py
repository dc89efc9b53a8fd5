"""Validators for single answers.

Each takes the raw value a user gave (from TOML or from a TUI field) and returns the normalised value or
raises :class:`Invalid` with a message that reads well after ``section.key: ``. The TUI and the answers
file use these same functions, so a value refused in one is refused in the other.

The messages are for a Pi owner, not a programmer: they show a value as it is written in TOML (text in
double quotes, true/false bare), never a regular expression or a Python repr, and they say what to write
instead, with the right form when there is one (``workers = 4``, ``bind = "127.0.0.1:4000"``).
"""

from __future__ import annotations

import os
import pwd
import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing stays off the start-up path of --check
    from typing import Any


class Invalid(ValueError):
    """A value that must not reach any command; the message names what was wrong and what was given."""


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _toml(value: Any) -> str:
    """A value as it is written in an answers file: "text" in double quotes, true/false, [lists]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        inner = "".join(_ESCAPES.get(ch, ch if ord(ch) >= 32 and ord(ch) != 127 else f"\\u{ord(ch):04x}")
                        for ch in value)
        return f'"{inner}"'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return "nothing"


def _show(value: Any) -> str:
    """``_toml`` cut to fit one line of a terminal."""
    text = _toml(value)
    if len(text) <= 60:
        return text
    return text[:56] + '..."' if text.startswith('"') else text[:57] + "..."


def _what(value: Any) -> str:
    """What the user wrote, in words, for a type error: "a number (4000)", "text ("4")", "true"."""
    if isinstance(value, bool):
        return _toml(value)
    if isinstance(value, (int, float)):
        return f"a number ({_toml(value)})"
    if isinstance(value, str):
        return f"text ({_show(value)})"
    if isinstance(value, list):
        return f"a list ({_show(value)})"
    return "a table" if isinstance(value, dict) else "nothing"


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else ""
    if word in ("true", "false", "yes", "no", "on", "off"):
        right = "true" if word in ("true", "yes", "on") else "false"
        raise Invalid(f"must be true or false, written without quotes: {right}, not {_show(value)}")
    raise Invalid(f"must be true or false (without quotes), not {_what(value)}")


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also says yes to "²" and "٤", which int() then refuses or misreads."""
    return text.isascii() and text.isdigit()


def _string(value: Any, right: str) -> str:
    """Text on one line; ``right`` is the key written the right way, shown when something else was given."""
    if not isinstance(value, str):
        raise Invalid(f"must be text in double quotes, not {_what(value)}: write it as {right}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Invalid(f"must be on one line, without tabs or other control characters: {_show(value)}")
    return value


# One DNS label: letters, digits, hyphens inside, at most 63 characters. Anything else (";", "{", quotes,
# spaces, "*") would either break out of nginx's server_name or be refused by the CA for HTTP-01.
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


_IPV6_LOOPBACK = bytes(15) + b"\x01"
_IPV4 = re.compile(r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$")


def _packed_ip(text: str) -> bytes | None:
    """The address in binary when ``text`` is a strict IPv4 or IPv6 literal (inet_pton's own rules).

    Dotted quads are read here; only a text with ":" pays for the socket module (start-up time counts).
    """
    if _IPV4.match(text):
        return bytes(int(part) for part in text.split("."))
    if ":" not in text:
        return None
    import socket

    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        return None


# Names only a home network knows, as Pi owners meet them (mDNS's .local, routers' .lan/.home, RFC 8375's
# home.arpa): no public CA issues a certificate for them. The RFC 2606 names (.test, .example) are left to
# the CA to refuse: test set-ups with a CA of their own use them.
_PRIVATE_SUFFIXES = ("local", "localhost", "internal", "lan", "home", "home.arpa", "localdomain")


def private_name(name: str) -> bool:
    """True for a name under a suffix that exists only on home networks (raspberrypi.local, nas.lan)."""
    return any(name == suffix or name.endswith("." + suffix) for suffix in _PRIVATE_SUFFIXES)


def _web_address_part(text: str) -> str | None:
    """The bare name when ``text`` is a web address (https://pi.example.com/x, pi.example.com:8080)."""
    bare = text.split("://", 1)[1] if "://" in text else text
    bare = bare.split("/", 1)[0].split("?", 1)[0]
    if ":" in bare and bare.count(":") == 1:
        bare = bare.split(":", 1)[0]
    return bare if bare and bare != text and "." in bare else None


def domain(value: Any) -> str:
    text = _string(value, 'domains = ["pi.example.com"]').strip().lower().rstrip(".")
    if not text:
        raise Invalid('a domain name is empty: write one such as "pi.example.com"')
    bare = _web_address_part(text)
    if bare is not None and _packed_ip(bare) is not None:
        raise Invalid(f"{_show(value)} is an IP address: certificates need a domain name such as \"pi.example.com\"")
    if bare is not None and not _packed_ip(text):
        drop = "https://" if text.startswith("https://") else "http://" if text.startswith("http://") else ""
        parts = " and ".join(p for p in (f'"{drop}"' if drop else "", "the path" if "/" in text.split("://")[-1]
                                         else "", "the port" if ":" in text.split("://")[-1] else "") if p)
        raise Invalid(f"{_show(value)} is a web address: write the name alone, without {parts}: {_toml(bare)}")
    if text.startswith("*.") and "*" not in text[2:]:
        return "*." + domain(text[2:])  # valid with https.challenge = "dns-01" only (schema.cross_check)
    if "*" in text:
        raise Invalid(f"{_show(value)}: a name with * cannot get a certificate by this method (each name is "
                      "checked over port 80); list each name instead, such as \"www.pi.example.com\"")
    if len(text) > 253:
        raise Invalid(f"a domain name may be at most 253 characters long; this one has {len(text)}")
    if _packed_ip(text) is not None:
        raise Invalid(f"{_show(value)} is an IP address: certificates need a domain name such as \"pi.example.com\"")
    labels = text.split(".")
    if len(labels) < 2:
        raise Invalid(f"{_show(value)} needs the rest of its name, with at least one dot, "
                      "such as \"pi.example.com\"")
    for label in labels:
        if len(label) > 63:
            raise Invalid(f"{_show(value)}: each part between dots may be at most 63 characters; "
                          f"one has {len(label)}")
        if not _LABEL.match(label):
            raise Invalid(f"{_show(value)} may hold only letters, digits, dots and hyphens (not at the start or "
                          "end of a part, no spaces), such as \"pi.example.com\"")
    if labels[-1].isdigit():
        raise Invalid(f"{_show(value)} must end in a name such as .com or .org, not in digits")
    return text


def domains(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list):
        raise Invalid(f'must be a list of names in brackets, not {_what(value)}: write it as '
                      f'domains = ["pi.example.com", "www.pi.example.com"]')
    if not value:
        raise Invalid('is empty: name at least one domain this Pi answers to, such as domains = ["pi.example.com"]')
    if len(value) > 100:
        raise Invalid(f"one certificate holds at most 100 names; this list has {len(value)}")
    result: list[str] = []
    for item in value:
        name = domain(item)
        if name in result:
            raise Invalid(f"{_toml(name)} is listed twice: keep it once")
        result.append(name)
    return result


_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")

# The name becomes /run/NAME (chowned to the app user when the app listens on a socket), /var/log/NAME
# (chowned to root, mode 755), /etc/nginx/sites-available/NAME and a supervisor program: it must not be a
# name the system or a common package already uses there.
_RESERVED_NAMES = frozenset({
    "default", "systemd", "user", "lock", "dbus", "sshd", "sudo", "mount", "udev", "network", "initramfs",
    "log", "shm", "cron", "console-setup", "sendsigs", "motd", "credentials", "blkid", "utmp", "nginx",
    "supervisor", "letsencrypt", "certbot", "apt", "dpkg", "journal", "private", "installer", "apache2",
    "piserver-wizard", "postgresql", "mysql", "mysqld", "mariadb", "redis", "exim4", "avahi-daemon",
    "dhcpcd", "wpa-supplicant", "lightdm", "cups", "samba", "php", "docker", "containerd", "netns",
    "resolvconf", "plymouth", "alsa", "chrony", "rsyslog", "unattended-upgrades", "runit", "sysstat",
})


def _name_like(text: str) -> str:
    """The nearest name the rules allow ("My App" -> "my-app"), to offer instead; "" when there is none."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    name = name.lstrip("0123456789-")[:32].rstrip("-")
    return name if _APP_NAME.match(name) and name not in _RESERVED_NAMES else ""


def app_name(value: Any) -> str:
    text = _string(value, 'name = "hello"')
    if not _APP_NAME.match(text):
        near = _name_like(text)
        instead = f", such as {_toml(near)}" if near and near != text else ', such as "hello" or "my-site"'
        raise Invalid(f"{_show(value)}: a name must start with a lowercase letter and hold only lowercase "
                      f"letters, digits and hyphens, at most 32{instead}")
    if text in _RESERVED_NAMES:
        raise Invalid(f"{_show(value)} is a name the system already uses (for a log folder, a program or a "
                      "site): pick another, such as \"my-site\"")
    return text


_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def app_user(value: Any) -> str:
    """The name's form only: whether the user exists, and may be created, is a rule between keys."""
    text = _string(value, 'user = "hello"')
    if not _USER_NAME.match(text):
        raise Invalid(f"{_show(value)} is not a user name: lowercase letters, digits, _ and -, starting with a "
                      "letter, such as \"hello\"")
    if text == "root":
        raise Invalid('must not be "root": the app runs as an ordinary user, such as a user of its own "hello"')
    return text


def user_problem(name: str, *, may_create: bool) -> str | None:
    """Why ``name`` cannot run the app on this machine, or None: it exists (or the wizard may create it, which
    is the run's job) and is not root."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if may_create:
            return None
        return (f"there is no user {_toml(name)} on this machine: set create_user = true and the wizard "
                f"creates it, or create it yourself with: sudo adduser --system --group {name}")
    if entry.pw_uid == 0:
        return f"{_toml(name)} is root under another name (uid 0): the app must not run as root"
    return None


# Folders that belong to the system: the app folder must not be one of them, nor an ancestor of them.
_SYSTEM_DIRS = {
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt",
    "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/www", "/var/log",
    "/var/lib", "/usr/local", "/usr/lib", "/usr/share", "/etc/nginx", "/var/tmp",
}
_SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run",
                 "/sbin", "/snap", "/sys", "/usr", "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/mail",
                 "/var/backups", "/var/run", "/var/lock")
# Under /usr only /usr/local/SOMETHING is the admin's own, and not its standard folders.
_USR_LOCAL_TREES = tuple(f"/usr/local/{name}" for name in
                         ("bin", "sbin", "lib", "libexec", "etc", "share", "include", "games", "man"))


def _under(path: str, trees: tuple[str, ...]) -> bool:
    return any(path == tree or path.startswith(tree + "/") for tree in trees)


def _system_problem(norm: str) -> str | None:
    if norm in _SYSTEM_DIRS:
        return "is a system folder"
    if _under(norm, _SYSTEM_TREES):
        if norm.startswith("/usr/local/") and not _under(norm, _USR_LOCAL_TREES):
            return None
        return "is inside a system folder"
    return None


_OWN_FOLDER = 'pick a folder of the app\'s own, such as "/srv/hello"'


def directory(value: Any) -> str:
    text = _string(value, 'directory = "/srv/hello"')
    if not text.startswith("/"):
        raise Invalid(f"{_show(value)}: write the full path, starting with /, such as \"/srv/hello\"")
    if ".." in text.split("/") or "." in text.split("/"):
        raise Invalid(f"{_show(value)}: write the folder itself, without '.' or '..' in the path")
    if not re.match(r"^/[A-Za-z0-9._/-]*$", text):
        raise Invalid(f"{_show(value)}: a folder may hold only letters, digits, dots, underscores, hyphens and "
                      "slashes (no spaces or accents)")
    # "//etc" is /etc to the kernel, and "/home//pi/" is /home/pi: fold repeated and trailing slashes.
    norm = "/" + "/".join(part for part in text.split("/") if part)
    problem = _system_problem(norm)
    if problem:
        raise Invalid(f"{_toml(norm)} {problem}: {_OWN_FOLDER}")
    real = os.path.realpath(norm)  # install -d and chown follow a symlink that is already there
    if real != norm and _system_problem(real):
        raise Invalid(f"{_toml(norm)} leads into the system folder {real} through a symlink: {_OWN_FOLDER}")
    return norm


def choice(value: Any, options: tuple[str, ...]) -> str:
    spelled = " or ".join(", ".join(_toml(o) for o in options).rsplit(", ", 1))
    if not isinstance(value, str):
        raise Invalid(f"must be {spelled}, in double quotes, not {_what(value)}")
    if value not in options:
        raise Invalid(f"must be {spelled}, not {_show(value)}")
    return value


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_WSGI = re.compile(rf"^{_IDENT}(\.{_IDENT})*:{_IDENT}(\(\))?$")


def _wsgi_like(text: str) -> str:
    """What the user probably meant ("app.py" -> "app:app"), or "" when no guess is safe."""
    module, _, attr = text.strip().partition(":")
    module = module.removesuffix(".py").strip("/").replace("/", ".")
    candidate = f"{module}:{attr or 'app'}"
    return candidate if _WSGI.match(candidate) and candidate != text else ""


def wsgi(value: Any) -> str:
    text = _string(value, 'wsgi = "app:app"')
    if not _WSGI.match(text):
        near = _wsgi_like(text)
        hint = f"; here perhaps {_toml(near)}" if near else ""
        raise Invalid(f"{_show(value)}: write the file gunicorn loads, without .py, then a colon and the Flask "
                      f"object in it: \"app:app\" is the object app in app.py{hint}")
    return text


def workers(value: Any) -> int:
    if isinstance(value, str) and _digits(value.strip()):
        raise Invalid(f"is text ({_show(value)}): write the number without quotes, workers = {int(value)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"must be a whole number such as workers = 4, not {_what(value)}")
    if value < 1:
        raise Invalid(f"must be a whole number of at least 1, got {value}")
    if value > 64:
        raise Invalid(f"must be at most 64 (a Pi has 4 cores; about 25 MB of memory each), got {value}")
    return value


_UNIX_BIND = re.compile(r"^unix:(/run/[a-z][a-z0-9-]{0,31}/[A-Za-z0-9_.-]+\.sock)$")
_BIND_FORMS = '"127.0.0.1:4000" or "unix:/run/hello/gunicorn.sock"'


def bind(value: Any) -> str:
    """gunicorn must listen on loopback or a unix socket only: nginx is the one face to the network."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
        raise Invalid(f'must be text in double quotes with the address, not a number: write it as '
                      f'bind = "127.0.0.1:{value}"')
    text = _string(value, 'bind = "127.0.0.1:4000"')
    if text.startswith("unix:"):
        if not _UNIX_BIND.match(text):
            raise Invalid(f"{_show(value)}: a socket must be a .sock file in a folder of /run named after "
                          "the app, such as \"unix:/run/hello/gunicorn.sock\"")
        return text
    match = re.match(r"^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):([^:]+)$", text)
    if not match:
        raise Invalid(f"{_show(value)}: write an address and a port, such as {_BIND_FORMS}")
    host, port_text = match.groups()
    if not _digits(port_text) or not 1 <= int(port_text) <= 65535:
        raise Invalid(f"{_show(value)}: the port after the colon must be a number from 1 to 65535, such as 4000")
    port = port_text if int(port_text) not in (80, 443) else "4000"  # for a suggestion that is itself valid
    if host != "localhost":
        packed = _packed_ip(host.strip("[]"))
        if packed is None:
            raise Invalid(f"{_show(value)}: {host} is not an address; use 127.0.0.1, this machine itself")
        if not (packed[0] == 127 if len(packed) == 4 else packed == _IPV6_LOOPBACK):
            raise Invalid(f"{_show(value)} would open the app to the network; only nginx faces it, so the app "
                          f"listens on 127.0.0.1 (this machine only), such as \"127.0.0.1:{port}\"")
    if int(port_text) in (80, 443):
        raise Invalid(f"{_show(value)}: port {port_text} is nginx's; pick another, such as \"127.0.0.1:4000\"")
    return text


# A requirement specifier in the PEP 508 subset we accept: name, extras, version constraints. No URLs,
# no options (a leading "-" would become a pip flag), no markers (";" starts shell-looking text).
_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
    r"(\[[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*\])?"
    r"(\s*(==|!=|<=|>=|<|>|~=|===)\s*[A-Za-z0-9.*+!_-]+(\s*,\s*(==|!=|<=|>=|<|>|~=)\s*[A-Za-z0-9.*+!_-]+)*)?$"
)
_ELSEWHERE = "put anything else in a requirements.txt in the app folder"


def _package_problem(text: str) -> str:
    """Why one item is not a package name with a version, said the way pip users think of it."""
    if text.startswith("-"):
        return f"pip options are not allowed here; {_ELSEWHERE}"
    if "://" in text or text.startswith(("git+", ".", "/")) or " @ " in text:
        return f"addresses and paths are not allowed here; {_ELSEWHERE}"
    if ";" in text:
        return f"conditions after ';' are not allowed here; {_ELSEWHERE}"
    if not text:
        return "is empty: remove it"
    return 'write one package name with an optional version, such as "flask" or "gunicorn>=21"'


def packages(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise Invalid(f'must be a list in brackets, not {_what(value)}: write it as '
                      f'packages = ["flask", "gunicorn"]')
    result = []
    for item in value:
        if not isinstance(item, str):
            raise Invalid(f'{_show(item)} is not a package name: write names in double quotes, such as "flask"')
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in item):
            raise Invalid(f"{_show(item)} must be on one line, without tabs or other control characters")
        text = item.strip()  # a newline would split a requirements line in two
        if not _REQUIREMENT.match(text):
            raise Invalid(f"{_show(item)}: {_package_problem(text)}")
        result.append(text)
    return result


_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def email(value: Any) -> str:
    text = _string(value, 'email = "you@example.com" (or leave it out)').strip()
    if not text:
        return ""
    if len(text) > 254 or not _EMAIL.match(text) or ".." in text:
        raise Invalid(f"{_show(value)} is not an e-mail address such as \"you@example.com\"; "
                      "or leave it empty: it is optional")
    return text


ACME_SERVERS = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


def acme_server(value: Any) -> str:
    text = _string(value, 'acme_server = "letsencrypt"').strip()
    if text in ACME_SERVERS:
        return text
    if not re.match(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]*)?$", text):
        raise Invalid(f'must be "letsencrypt", "letsencrypt-staging" or the https:// address of another '
                      f"certificate authority's ACME directory, not {_show(value)}")
    return text


_CRON_FIELDS = ("minute", "hour", "day of the month", "month", "weekday")
_CRON_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
               4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}


def _cron_number(text: str, index: int) -> int:
    names = _CRON_NAMES.get(index, [])
    if text.lower() in names:
        return names.index(text.lower()) + (1 if index == 3 else 0)
    low, high = _CRON_FIELD_RANGES[index]
    if not _digits(text):
        raise Invalid(f"the {_CRON_FIELDS[index]} must be * or a number from {low} to {high}, not {_toml(text)}")
    number = int(text)
    if not low <= number <= high:
        raise Invalid(f"the {_CRON_FIELDS[index]} must be from {low} to {high}, not {number}")
    return number


def _cron_field(field: str, index: int) -> None:
    for part in field.split(","):
        base, sep, step = part.partition("/")
        if sep and (not _digits(step) or int(step) == 0):
            raise Invalid(f"the {_CRON_FIELDS[index]} has {_toml(part)}: after / comes a number of 1 or more")
        if base == "*":
            continue
        low, dash, high = base.partition("-")
        first = _cron_number(low, index)
        if dash and _cron_number(high, index) < first:
            raise Invalid(f"the {_CRON_FIELDS[index]} has the range {_toml(base)} backwards: write the smaller "
                          "number first")


def dns_provider(value: Any) -> str:
    """One of the certbot DNS plugins Debian packages (python3-certbot-dns-NAME), or "" for none."""
    from .dns01 import PROVIDERS

    text = _string(value, 'dns_provider = "cloudflare"').strip().lower()
    if text and text not in PROVIDERS:
        raise Invalid(f"must be one of the DNS plugins Debian packages ({', '.join(sorted(PROVIDERS))}), "
                      f"got {_show(value)}")
    return text


def credentials_path(value: Any) -> str:
    """The path only; whether the file is root's alone is checked with the other keys (schema)."""
    text = _string(value, 'dns_credentials = "/etc/piserver-wizard/dns/cloudflare.ini"').strip()
    if not text:
        return ""
    if not re.match(r"^/[A-Za-z0-9._/-]*$", text) or ".." in text.split("/") or text.endswith("/"):
        raise Invalid(f"must be the absolute path of a file such as /etc/piserver-wizard/dns/cloudflare.ini, "
                      f"got {_show(value)}")
    return text


def propagation_seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3600:
        raise Invalid(f"must be a whole number of seconds from 0 to 3600 (0: the plugin's own wait), "
                      f"got {_show(value)}")
    return value


def cron_schedule(value: Any) -> str:
    """Five cron fields; the value lands in /etc/cron.d, where a newline would add a job of its own."""
    text = _string(value, 'cron_schedule = "17 3,15 * * *"').strip()
    fields = text.split()
    if len(fields) != 5:
        raise Invalid(f"{_show(value)}: write five fields, minute hour day month weekday, such as "
                      "\"17 3,15 * * *\" (every day at 03:17 and 15:17)")
    try:
        for index, field in enumerate(fields):
            _cron_field(field, index)
    except Invalid as error:
        raise Invalid(f"{_show(value)}: {error}") from None
    return " ".join(fields)


def _every(field: str, index: int) -> bool:
    """True when a cron field matches every value of its range ("*", "*/1", "1-31", "0-6")."""
    low, high = _CRON_FIELD_RANGES[index]
    full = {f"{low}-{high}"} | ({"0-6", "1-7"} if index == 4 else set())
    return field in ("*", "*/1") or field in full or field.removesuffix("/1") in full


def less_than_daily(schedule: str) -> bool:
    """True when a (valid) schedule skips whole days: a failed renewal then waits days for its next try."""
    fields = schedule.split()
    return not all(_every(fields[index], index) for index in (2, 3, 4))


_SIZE = re.compile(r"^([1-9][0-9]{0,6})([kmg]?)$")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def upload_size(value: Any) -> str:
    """nginx's size syntax (10m, 512k, 1g); it lands in client_max_body_size. 0, nginx's "no limit", is
    refused: an unbounded body is a way to fill a Pi's SD card through the app."""
    text = _string(value, 'max_upload = "10m"').strip().lower()
    if text.rstrip("kmg") == "0":
        raise Invalid(f'must be a size such as max_upload = "10m"; {_show(value)} would mean no limit at all, '
                      "and one upload could fill the SD card")
    match = _SIZE.match(text)
    if not match:
        raise Invalid(f'must be a size such as max_upload = "10m" (or "512k", "1g"), got {_show(value)}')
    if int(match.group(1)) * _SIZE_UNITS[match.group(2)] > 4 * 1024 ** 3:
        raise Invalid(f'must be at most "4g", got {_show(value)}')
    return text
