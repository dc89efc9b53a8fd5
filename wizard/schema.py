"""The schema of the answers file: every key, its default, its validator and its help, and the checks.

This module is what ``--check`` and every load go through, so it stays light on purpose (no dataclasses,
no pathlib): validating a file must start about as fast as the interpreter itself. ``answers`` builds the
typed model on top of it; the TUI's fields use the same table and validators.
"""

from __future__ import annotations

import os
import pwd
import stat
from types import SimpleNamespace

import tomli  # the stdlib's tomllib, as its upstream ships it now: it imports neither typing nor string

from . import validators as v
from .validators import Invalid

TYPE_CHECKING = False
if TYPE_CHECKING:  # only for type checkers: typing costs a Pi Zero tens of milliseconds to import
    from typing import Any, Callable, Sequence


class AnswersError(Exception):
    """A refused answers file. ``str()`` is the whole message the user sees: file, then key or position."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source, self.where, self.message = source, where, message
        super().__init__(f"{source}: {where}: {message}" if where else f"{source}: {message}")


class Field:
    """One answer: where it lives, its label, its default, the validator that normalises it, its help line.

    This table is the only place a default or a label is written: the typed model (``answers``), the
    TUI's questions and the commented file written by "Save answers" all read them from here.
    """

    __slots__ = ("section", "key", "label", "default", "check", "help", "required", "options")

    def __init__(self, section: str, key: str, label: str, default: Any, check: Callable[[Any], Any],
                 help: str, required: bool = False, options: tuple[str, ...] = ()) -> None:
        self.section, self.key, self.label, self.default, self.check, self.help, self.required = (
            section, key, label, default, check, help, required)
        self.options = options  # the whole set of values for a choice (the TUI offers them as a list)

    def fresh_default(self) -> Any:
        """The default as a new object: a list default must never be shared between two answers."""
        return list(self.default) if isinstance(self.default, list) else self.default

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"

    def __repr__(self) -> str:
        return f"Field({self.dotted!r})"


def _choice(section: str, key: str, label: str, options: tuple[str, ...], help: str) -> Field:
    """A field whose value is one of ``options``: the list the validator checks is the list offered."""
    def check(value: Any) -> str:
        return v.choice(value, options)
    return Field(section, key, label, options[0], check, help, options=options)


# Renewal by cron tries twice a day, as certbot's own timer does: certbot renews only when a certificate is
# due (a third of its life left), and a failed try is retried twelve hours later, not a month later.
CRON_DEFAULT = "17 3,15 * * *"

FIELDS: tuple[Field, ...] = (
    Field("system", "update_packages", "Update packages", True, v.boolean,
          "run apt update before installing (recommended)"),
    Field("system", "remove_apache", "Remove apache2", True, v.boolean,
          "remove apache2 if it is installed: it would hold port 80"),
    Field("site", "domains", "Domain names", [], v.domains,
          "the names this Pi answers to; the first is the main one; they share one certificate", required=True),
    Field("site", "disable_default_site", "Hide nginx page", True, v.boolean,
          "turn off nginx's \"Welcome to nginx!\" page"),
    Field("site", "serve_lan_addresses", "LAN addresses", False, v.boolean,
          "local-ca only: the certificate also names this Pi's home addresses, for https://192.168.x.y/"),
    Field("site", "max_upload", "Largest upload", "10m", v.upload_size,
          "the largest upload (request body) nginx lets through, such as \"10m\", \"512k\" or \"1g\""),
    Field("app", "name", "App name", "hello", v.app_name,
          "lowercase letters, digits and hyphens; names the app's program, site and log folder"),
    Field("app", "user", "Runs as user", "pi", v.app_user,
          "the user the app runs as, never root; a user of its own is safest"),
    Field("app", "create_user", "Create the user", False, v.boolean,
          "create that user if it is missing: a system user with its own group, no login, no sudo"),
    Field("app", "directory", "App folder", "/home/pi/hello", v.directory,
          "the app's folder, a full path; the wizard adds venv/ and .secret_key there"),
    _choice("app", "source", "Start from", ("sample", "existing"),
            '"sample": write a Hello World app to start from; "existing": run the app already in the folder'),
    Field("app", "wsgi", "App entry", "app:app", v.wsgi,
          "what gunicorn runs: app:app is the Flask object app in app.py"),
    Field("app", "workers", "Workers", 4, v.workers,
          "copies of the app serving requests; about 25 MB of memory each"),
    Field("app", "bind", "App address", "127.0.0.1:4000", v.bind,
          'where nginx reaches the app: "127.0.0.1:PORT" or "unix:/run/NAME/gunicorn.sock"'),
    Field("app", "packages", "Packages", ["flask", "gunicorn"], v.packages,
          "Python packages for the app; a requirements.txt in its folder is installed too"),
    Field("https", "enabled", "Enable HTTPS", True, v.boolean, "get a free Let's Encrypt certificate and serve HTTPS"),
    Field("https", "email", "E-mail", "", v.email,
          "optional; Let's Encrypt no longer sends expiry mail (since June 2025), so it may stay empty"),
    Field("https", "agree_tos", "Accept terms", False, v.boolean,
          "accept Let's Encrypt's subscriber agreement; HTTPS needs it"),
    _choice("https", "mode", "Mode", ("certonly", "certbot-nginx", "local-ca"),
            '"certonly": the wizard writes the HTTPS settings; "certbot-nginx": certbot edits the site; '
            '"local-ca": the wizard\'s own authority, for a site on your home network only'),
    _choice("https", "challenge", "Challenge", ("http-01", "dns-01"),
            '"http-01": the authority visits port 80; "dns-01": proof in your DNS, for when port 80 is blocked'),
    Field("https", "dns_provider", "DNS provider", "", v.dns_provider,
          "dns-01: who runs your DNS, as certbot's plugin is named (cloudflare, ovh, rfc2136...)"),
    Field("https", "dns_credentials", "DNS key file", "", v.credentials_path,
          "dns-01: the file with your DNS provider's token; root's alone (mode 0600)"),
    Field("https", "dns_propagation_seconds", "DNS wait (s)", 0, v.propagation_seconds,
          "dns-01: how long to wait for the record to spread; 0 leaves the plugin's own wait"),
    Field("https", "acme_server", "Certificates by", "letsencrypt", v.acme_server,
          '"letsencrypt"; "letsencrypt-staging" to practise (untrusted, generous limits); or an ACME address'),
    Field("https", "redirect", "HTTP to HTTPS", True, v.boolean, "send visitors from http:// to https://"),
    _choice("https", "renewal", "Renewal", ("auto", "cron", "timer"),
            '"auto": certbot\'s systemd timer where there is one, else cron; or "cron" or "timer"'),
    Field("https", "cron_schedule", "Renewal times", CRON_DEFAULT, v.cron_schedule,
          "when cron tries to renew (minute hour day month weekday); certbot renews only when due"),
)

# What to write when a required key is missing: the key itself, written the right way.
MISSING = {
    "site.domains": 'is missing: name the domains this Pi answers to, such as domains = ["pi.example.com"] '
                    "under [site]",
}

SECTIONS: tuple[str, ...] = ("system", "site", "app", "https")
FIELD_BY_KEY: dict[str, Field] = {f.dotted: f for f in FIELDS}


def socket_dir_of(bind: str) -> str | None:
    """The folder of a unix socket bind (unix:/run/NAME/x.sock -> /run/NAME); None for host:port."""
    return bind[len("unix:"):].rsplit("/", 1)[0] if bind.startswith("unix:") else None


def with_defaults(values: dict[str, dict[str, Any]]) -> SimpleNamespace:
    """Validated values filled up with the defaults, readable as answers.app.bind like the model."""
    sections = {}
    for section in SECTIONS:
        table = {f.key: f.fresh_default() for f in FIELDS if f.section == section}
        table.update(values.get(section, {}))
        sections[section] = SimpleNamespace(**table)
    return SimpleNamespace(**sections)


def cross_check(answers: Any, *, has_systemd: bool | None = None) -> list[tuple[str, str]]:
    """Rules between keys; returns (dotted key, message) pairs so the TUI can show each under its field."""
    problems = _https_problems(answers, has_systemd)
    app = answers.app
    user = v.user_problem(app.user, may_create=app.create_user)
    if user is not None:
        problems.append(("app.user", user))
    owner = _other_home_owner(app.directory, app.user)
    if owner is not None:
        problems.append(("app.directory", f"{app.directory} is in {owner}'s home folder, and the wizard would give "
                                          f"it to {app.user}: pick a folder of the app's own, such as "
                                          f"/srv/{app.name}"))
    socket_dir = socket_dir_of(app.bind)
    if socket_dir is not None and socket_dir != f"/run/{app.name}":
        problems.append(("app.bind", f"the socket must be in /run/{app.name}/, the app's name: write "
                                     f'bind = "unix:/run/{app.name}/gunicorn.sock"'))
    elif socket_dir is not None and not _free_for(socket_dir, app.user):
        problems.append(("app.bind", f"{socket_dir} belongs to another program (the wizard would give it to "
                                     f"{app.user}): pick another app name"))
    order = {f.dotted: index for index, f in enumerate(FIELDS)}
    return sorted(problems, key=lambda problem: order.get(problem[0], len(order)))  # as the file reads


def _https_problems(answers: Any, has_systemd: bool | None) -> list[tuple[str, str]]:
    https = answers.https
    problems: list[tuple[str, str]] = _name_problems(answers)
    if https.enabled and https.mode == "local-ca":  # the wizard's own authority: no account, no challenge
        return problems + _timer_problems(https, has_systemd)
    if not https.enabled:
        return problems
    problems += _challenge_problems(https)
    if not https.agree_tos:
        problems.append(("https.agree_tos", "HTTPS needs it: write agree_tos = true to accept Let's Encrypt's "
                                            "subscriber agreement, or enabled = false for a site without HTTPS"))
    problems += _timer_problems(https, has_systemd)
    private = [name for name in answers.site.domains if v.private_name(name)]
    if private and https.acme_server in v.ACME_SERVERS:
        problems.append(("site.domains", f"{private[0]} is a name only your home network knows: Let's Encrypt "
                                         "cannot give it a certificate. Use a real domain (a free dynamic-DNS "
                                         "name works), mode = \"local-ca\" for your home network only, or "
                                         "set [https] enabled = false for a site without HTTPS"))
    return problems


def _timer_problems(https: Any, has_systemd: bool | None) -> list[tuple[str, str]]:
    if https.renewal == "timer" and has_systemd is False:
        return [("https.renewal", '"timer" needs systemd, which this machine does not run: '
                                  'write renewal = "auto" or "cron"')]
    return []


def advice(answers: Any, *, has_systemd: bool | None = None) -> list[tuple[str, str]]:
    """Answers that work but are unwise, as (dotted key, message): shown as warnings, never refused."""
    https = answers.https
    by_cron = https.renewal == "cron" or (https.renewal == "auto" and has_systemd is False)
    if https.enabled and by_cron and v.less_than_daily(https.cron_schedule):
        return [("https.cron_schedule", f'"{https.cron_schedule}" tries to renew less often than daily: a '
                                        "failed renewal then waits days for its next try. certbot renews only "
                                        f'when due, so trying twice a day costs nothing: "{CRON_DEFAULT}"')]
    return []


def default_workers(cores: int, memory_bytes: int = 0) -> int:
    """2 x cores + 1 (gunicorn's advice), but no more than a quarter of memory at about 25 MB a worker.

    A 512 MB Pi Zero 2 W (4 cores, about 430 MB for Linux) gets 4, not 9; memory unknown (0): cores alone.
    """
    by_cores = 2 * max(cores, 1) + 1
    if memory_bytes > 0:
        by_cores = min(by_cores, memory_bytes // 4 // (25 * 1024 * 1024))
    return max(1, min(by_cores, 64))


def _name_problems(answers: Any) -> list[tuple[str, str]]:
    """Wildcards need DNS-01; .local names exist only on the home network, where no public CA looks."""
    https, names = answers.https, answers.site.domains
    wildcard = next((n for n in names if n.startswith("*.")), None)
    if wildcard and not (https.enabled and https.mode == "certonly" and https.challenge == "dns-01"):
        return [("site.domains", f"a wildcard name needs https.challenge = 'dns-01' (and mode 'certonly'), "
                                 f"got {wildcard!r}")]
    local = next((n for n in names if n.endswith(".local")), None)
    if local and https.enabled and https.mode != "local-ca" and https.acme_server not in v.ACME_SERVERS:
        return [("site.domains", f"a .local name is known on your home network only, where no public "
                                 f"authority can check it: use https.mode = 'local-ca' or turn HTTPS off, "
                                 f"got {local!r}")]
    return []


def _challenge_problems(https: Any) -> list[tuple[str, str]]:
    """DNS-01 needs a plugin and a credentials file only root can read (it holds an API token)."""
    if https.challenge != "dns-01":
        return []
    from .dns01 import ROUTE53_CREDENTIALS, credentials_problem

    if https.mode != "certonly":
        return [("https.challenge", f"'dns-01' works with https.mode = 'certonly', got mode {https.mode!r}")]
    if not https.dns_provider:
        return [("https.dns_provider", "is needed with https.challenge = 'dns-01', got ''")]
    path = https.dns_credentials
    if not path:
        return [("https.dns_credentials", "is needed with https.challenge = 'dns-01', got ''")]
    if https.dns_provider == "route53" and path != ROUTE53_CREDENTIALS:
        return [("https.dns_credentials", f"route53 reads AWS's own file: must be {ROUTE53_CREDENTIALS}, "
                                          f"got {path!r}")]
    problem = credentials_problem(path)
    return [("https.dns_credentials", f"{problem}, got {path!r}")] if problem else []


def _other_home_owner(directory: str, user: str) -> str | None:
    """The name of another user whose home under /home holds ``directory``: install -d would hand it over."""
    for entry in pwd.getpwall():
        home = entry.pw_dir.rstrip("/")
        if entry.pw_name == user or not home.startswith("/home/"):
            continue
        if directory == home or directory.startswith(home + "/"):
            return entry.pw_name
    return None


def _free_for(path: str, user: str) -> bool:
    """True when ``path`` is missing or is a real folder ``user`` owns already (a re-run)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "text", bool: "true or false", int: "a number",
            float: "a number"}.get(type(value), "something else")


def _hint(word: str, nearby: Sequence[str], show: Callable[[str], str]) -> str:
    """" (did you mean X?)" for a near miss among ``nearby``, or where a key of that name really lives."""
    import difflib  # only on a mistake: keep it off the start-up path

    close = difflib.get_close_matches(word, nearby, n=1)
    close = close or [k for k in nearby if len(word) >= 3 and k.startswith(word)]  # cron -> cron_schedule
    if close:
        return f" (did you mean {show(close[0])}?)"
    homes = [f.dotted for f in FIELDS if f.key == word]
    if homes:
        return f" (did you mean {homes[0]}? it belongs under [{homes[0].split('.')[0]}])"
    return ""


def validate(data: dict[str, Any], source: str, *, has_systemd: bool | None = None) -> dict[str, dict[str, Any]]:
    """Validate a parsed TOML document; the first problem found is raised, named by its dotted key."""
    for section, table in data.items():
        if section not in SECTIONS:
            extra = _hint(section, SECTIONS, lambda name: f"[{name}]") or f" (known: {', '.join(SECTIONS)})"
            raise AnswersError(source, section, f"unknown section{extra}")
        if not isinstance(table, dict):
            raise AnswersError(source, section, f"must be a table: a line [{section}], then its keys below it, "
                                                   f"not {_type_name(table)}")
        known = [f.key for f in FIELDS if f.section == section]
        for key in table:
            if key not in known:
                extra = _hint(key, known, lambda name, section=section: f"{section}.{name}")
                raise AnswersError(source, f"{section}.{key}", f"unknown key{extra}")
    values: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for spec in FIELDS:
        table = data.get(spec.section, {})
        if spec.key not in table:
            if spec.required:
                raise AnswersError(source, spec.dotted, MISSING.get(spec.dotted, "is missing"))
            continue
        try:
            values[spec.section][spec.key] = spec.check(table[spec.key])
        except Invalid as error:
            raise AnswersError(source, spec.dotted, str(error)) from None
    problems = cross_check(with_defaults(values), has_systemd=has_systemd)
    if problems:
        raise AnswersError(source, *problems[0])
    return values


TOML_RULE = 'in TOML, true and false are written bare and text goes in double quotes: enabled = true, name = "hello"'


def syntax_message(error: Any, text: str) -> str:
    """tomli's message and position, the line itself, and the one rule most mistakes break."""
    message = str(error)
    lineno = getattr(error, "lineno", 0)
    lines = text.splitlines()
    if 0 < lineno <= len(lines) and lines[lineno - 1].strip():
        line = lines[lineno - 1]
        comment = line.find(" #", getattr(error, "colno", 1))  # a comment after the fault is not the fault
        shown = (line[:comment] if comment > 0 else line).strip()
        message += f": {shown[:60] + '...' if len(shown) > 60 else shown}"
    return f"not valid TOML: {message}. Remember: {TOML_RULE}"


def parse_text(text: str, source: str, *, has_systemd: bool | None = None) -> dict[str, dict[str, Any]]:
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        raise AnswersError(source, "", syntax_message(error, text)) from None
    except RecursionError:
        raise AnswersError(source, "", "not valid TOML: arrays or tables nested too deeply") from None
    return validate(data, source, has_systemd=has_systemd)


def load(path: str | os.PathLike[str], *, has_systemd: bool | None = None) -> dict[str, dict[str, Any]]:
    """Read and validate an answers file; every way a file can be unusable becomes an AnswersError."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise AnswersError(source, "", "no such file") from None
    except IsADirectoryError:
        raise AnswersError(source, "", "is a directory, not an answers file") from None
    except OSError as error:
        raise AnswersError(source, "", f"cannot be read: {error.strerror}") from None
    if not raw.strip():
        raise AnswersError(source, "", "is empty; piserver-wizard --example-answers prints a complete file to start from")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AnswersError(source, "", f"is not UTF-8 text (byte {error.start}); is it an answers file?") from None
    if "\x00" in text:
        raise AnswersError(source, "", "holds NUL bytes; is it an answers file?")
    return parse_text(text, source, has_systemd=has_systemd)
