"""Validators for single answers.

Each takes the raw value a user gave (from TOML or from a TUI field) and returns the normalised value or
raises :class:`Invalid` with a message that reads well after ``section.key: ``. The TUI and the answers
file use these same functions, so a value refused in one is refused in the other.
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


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the user wrote it in TOML, not Python's True
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"must be true or false, got {_show(value)}")


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also says yes to "²" and "٤", which int() then refuses or misreads."""
    return text.isascii() and text.isdigit()


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {_show(value)}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Invalid(f"must not contain control characters or newlines, got {_show(value)}")
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


def domain(value: Any) -> str:
    text = _string(value).strip().lower().rstrip(".")
    if not text:
        raise Invalid(f"must not be empty, got {_show(value)}")
    if "*" in text:
        raise Invalid(f"wildcards cannot be validated over HTTP-01, got {_show(value)}")
    if len(text) > 253:
        raise Invalid(f"must be at most 253 characters, got {len(text)}")
    if _packed_ip(text) is not None:
        raise Invalid(f"must be a domain name, not an IP address (certificates need a name), got {_show(value)}")
    labels = text.split(".")
    if len(labels) < 2:
        raise Invalid(f"must be a fully qualified name such as pi.example.com, got {_show(value)}")
    for label in labels:
        if len(label) > 63:
            raise Invalid(f"each label must be at most 63 characters, got {len(label)} in {_show(value)}")
        if not _LABEL.match(label):
            raise Invalid(f"may hold only letters, digits, dots and inner hyphens, got {_show(value)}")
    if labels[-1].isdigit():
        raise Invalid(f"the last label must not be all digits, got {_show(value)}")
    return text


def domains(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list):
        raise Invalid(f"must be a list of domain names, got {_show(value)}")
    if not value:
        raise Invalid("must name at least one domain, got []")
    if len(value) > 100:
        raise Invalid(f"a certificate holds at most 100 names, got {len(value)}")
    result: list[str] = []
    for index, item in enumerate(value):
        try:
            name = domain(item)
        except Invalid as error:
            raise Invalid(f"[{index}] {error}") from None
        if name in result:
            raise Invalid(f"[{index}] {name!r} is listed twice")
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


def app_name(value: Any) -> str:
    text = _string(value)
    if not _APP_NAME.match(text):
        raise Invalid(
            "must start with a lowercase letter and hold only lowercase letters, digits and hyphens "
            f"(at most 32), got {_show(value)}"
        )
    if text in _RESERVED_NAMES:
        raise Invalid(f"is a name the system already uses (/run, /var/log or nginx's sites), pick another, "
                      f"got {_show(value)}")
    return text


def app_user(value: Any) -> str:
    text = _string(value)
    if not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", text):
        raise Invalid(f"must be a user name such as pi, got {_show(value)}")
    if text == "root":
        raise Invalid(f"must not be root: the app runs as an ordinary user, got {_show(value)}")
    return text


def user_problem(name: str, *, may_create: bool) -> str | None:
    """Whether the app user can run the app: it exists (or the wizard may create it) and is not root."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if may_create:
            return None
        return (f"no such user on this machine: {name!r} (create it with 'sudo adduser {name}', "
                "or set app.create_user = true and the wizard creates it)")
    if entry.pw_uid == 0:
        return f"{name!r} has uid 0: the app must not run as root"
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
        return "must not be a system folder"
    if _under(norm, _SYSTEM_TREES):
        if norm.startswith("/usr/local/") and not _under(norm, _USR_LOCAL_TREES):
            return None
        return "must not be inside a system folder"
    return None


def directory(value: Any) -> str:
    text = _string(value)
    if not text.startswith("/"):
        raise Invalid(f"must be an absolute path such as /home/pi/hello, got {_show(value)}")
    if ".." in text.split("/") or "." in text.split("/"):
        raise Invalid(f"must not contain '.' or '..', got {_show(value)}")
    if not re.match(r"^/[A-Za-z0-9._/-]*$", text):
        raise Invalid(f"may hold only letters, digits, '.', '_', '-' and '/', got {_show(value)}")
    # "//etc" is /etc to the kernel, and "/home//pi/" is /home/pi: fold repeated and trailing slashes.
    norm = "/" + "/".join(part for part in text.split("/") if part)
    problem = _system_problem(norm)
    if problem:
        raise Invalid(f"{problem}, got {_show(value)}")
    real = os.path.realpath(norm)  # install -d and chown follow a symlink that is already there
    if real != norm and _system_problem(real):
        raise Invalid(f"must not lead into a system folder through a symlink ({real}), got {_show(value)}")
    return norm


def choice(value: Any, options: tuple[str, ...]) -> str:
    text = _string(value)
    if text not in options:
        raise Invalid(f"must be one of {', '.join(repr(o) for o in options)}, got {_show(value)}")
    return text


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_WSGI = re.compile(rf"^{_IDENT}(\.{_IDENT})*:{_IDENT}(\(\))?$")


def wsgi(value: Any) -> str:
    text = _string(value)
    if not _WSGI.match(text):
        raise Invalid(f"must be module:callable such as app:app, got {_show(value)}")
    return text


def workers(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"must be a whole number of at least 1, got {_show(value)}")
    if value > 64:
        raise Invalid(f"must be at most 64 (a Pi has 4 cores), got {_show(value)}")
    return value


_UNIX_BIND = re.compile(r"^unix:(/run/[a-z][a-z0-9-]{0,31}/[A-Za-z0-9_.-]+\.sock)$")


def bind(value: Any) -> str:
    """gunicorn must listen on loopback or a unix socket only: nginx is the one face to the network."""
    text = _string(value)
    if text.startswith("unix:"):
        if not _UNIX_BIND.match(text):
            raise Invalid(f"a unix socket must look like unix:/run/NAME/gunicorn.sock, got {_show(value)}")
        return text
    match = re.match(r"^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):([^:]+)$", text)
    if not match:
        raise Invalid(f"must be 127.0.0.1:PORT or unix:/run/NAME/gunicorn.sock, got {_show(value)}")
    host, port_text = match.groups()
    if not _digits(port_text) or not 1 <= int(port_text) <= 65535:
        raise Invalid(f"port must be a number from 1 to 65535, got {_show(port_text)}")
    if host != "localhost":
        packed = _packed_ip(host.strip("[]"))
        if packed is None:
            raise Invalid(f"host must be a loopback address, got {_show(host)}")
        if not (packed[0] == 127 if len(packed) == 4 else packed == _IPV6_LOOPBACK):
            raise Invalid(f"must listen on loopback only (nginx faces the network), got {_show(host)}")
    if int(port_text) in (80, 443):
        raise Invalid(f"port {port_text} belongs to nginx; pick another such as 4000, got {_show(value)}")
    return text


# A requirement specifier in the PEP 508 subset we accept: name, extras, version constraints. No URLs,
# no options (a leading "-" would become a pip flag), no markers (";" starts shell-looking text).
_REQUIREMENT = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
    r"(\[[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*\])?"
    r"(\s*(==|!=|<=|>=|<|>|~=|===)\s*[A-Za-z0-9.*+!_-]+(\s*,\s*(==|!=|<=|>=|<|>|~=)\s*[A-Za-z0-9.*+!_-]+)*)?$"
)


def packages(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise Invalid(f"must be a list of requirement specifiers, got {_show(value)}")
    result = []
    for index, item in enumerate(value):
        try:
            text = _string(item).strip()  # a newline would split a requirements line in two
        except Invalid as error:
            raise Invalid(f"[{index}] {error}") from None
        if not _REQUIREMENT.match(text):
            raise Invalid(f"[{index}] must be a requirement such as flask or gunicorn>=21, got {_show(item)}")
        result.append(text)
    return result


_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def email(value: Any) -> str:
    text = _string(value).strip()
    if not text:
        return ""
    if len(text) > 254 or not _EMAIL.match(text) or ".." in text:
        raise Invalid(f"must be an e-mail address such as admin@example.com, got {_show(value)}")
    return text


ACME_SERVERS = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}


def acme_server(value: Any) -> str:
    text = _string(value).strip()
    if text in ACME_SERVERS:
        return text
    if not re.match(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]*)?$", text):
        raise Invalid(
            f"must be 'letsencrypt', 'letsencrypt-staging' or an https:// directory URL, got {_show(value)}"
        )
    return text


_CRON_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
               4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}


def _cron_number(text: str, index: int) -> int:
    names = _CRON_NAMES.get(index, [])
    if text.lower() in names:
        return names.index(text.lower()) + (1 if index == 3 else 0)
    if not _digits(text):
        raise Invalid(f"field {index + 1} has {text!r}, not a number")
    low, high = _CRON_FIELD_RANGES[index]
    number = int(text)
    if not low <= number <= high:
        raise Invalid(f"field {index + 1} must be within {low}-{high}, got {number}")
    return number


def cron_schedule(value: Any) -> str:
    """Five cron fields; the value lands in /etc/cron.d, where a newline would add a job of its own."""
    text = _string(value).strip()
    fields = text.split()
    if len(fields) != 5:
        raise Invalid(f"must have five fields (minute hour day month weekday), got {_show(value)}")
    try:
        for index, field in enumerate(fields):
            for part in field.split(","):
                base, sep, step = part.partition("/")
                if sep and (not _digits(step) or int(step) == 0):
                    raise Invalid(f"field {index + 1} has a bad step {step!r}")
                if base == "*":
                    continue
                low, dash, high = base.partition("-")
                first = _cron_number(low, index)
                if dash and _cron_number(high, index) < first:
                    raise Invalid(f"field {index + 1} has a backwards range {base!r}")
    except Invalid as error:
        raise Invalid(f"{error} in {_show(value)}") from None
    return " ".join(fields)
