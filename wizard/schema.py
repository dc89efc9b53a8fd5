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


FIELDS: tuple[Field, ...] = (
    Field("system", "update_packages", "Update packages", True, v.boolean, "apt update first"),
    Field("system", "remove_apache", "Remove apache2", True, v.boolean, "purge apache2 if it is installed"),
    Field("site", "domains", "Domain names", [], v.domains,
          "first is the primary name; all share one certificate", required=True),
    Field("site", "disable_default_site", "Disable default", True, v.boolean, "unlink nginx's default site"),
    Field("app", "name", "App name", "hello", v.app_name,
          "[a-z][a-z0-9-]{0,31}: names the supervisor program, nginx site, log folder"),
    Field("app", "user", "Runs as user", "pi", v.app_user, "existing non-root user that runs gunicorn"),
    Field("app", "create_user", "Create the user", False, v.boolean,
          "create that user if missing: a system user with its own group, no login shell, no sudo"),
    Field("app", "directory", "App folder", "/home/pi/hello", v.directory, "absolute; holds the app and its venv/"),
    _choice("app", "source", "Source", ("sample", "existing"),
            '"sample": write the Flask hello app; "existing": use the app already there'),
    Field("app", "wsgi", "WSGI entry", "app:app", v.wsgi, "module:callable for gunicorn"),
    Field("app", "workers", "Workers", 4, v.workers, "gunicorn worker processes (2 x cores + 1 is a good start)"),
    Field("app", "bind", "Listen on", "127.0.0.1:4000", v.bind, 'or "unix:/run/NAME/gunicorn.sock"'),
    Field("app", "packages", "Packages", ["flask", "gunicorn"], v.packages,
          "requirement specifiers for the venv; a requirements.txt there is honoured too"),
    Field("https", "enabled", "Enable HTTPS", True, v.boolean, "get a Let's Encrypt certificate and serve HTTPS"),
    Field("https", "email", "E-mail", "", v.email, "for expiry notices from the certificate authority"),
    Field("https", "agree_tos", "Agree to terms", False, v.boolean,
          "Let's Encrypt subscriber agreement; required when enabled"),
    _choice("https", "mode", "Mode", ("certonly", "certbot-nginx"),
            '"certonly": the wizard writes the TLS server block; "certbot-nginx": certbot edits the site'),
    Field("https", "acme_server", "ACME server", "letsencrypt", v.acme_server,
          '"letsencrypt", "letsencrypt-staging", or an ACME directory URL'),
    Field("https", "redirect", "Redirect", True, v.boolean, "HTTP -> HTTPS"),
    _choice("https", "renewal", "Renewal", ("auto", "cron", "timer"),
            '"auto": certbot\'s systemd timer if present, else cron; "cron"; "timer"'),
    Field("https", "cron_schedule", "Cron schedule", "30 4 1 * *", v.cron_schedule, "used when renewal is by cron"),
)

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
    problems: list[tuple[str, str]] = []
    https = answers.https
    if https.enabled:
        if not https.agree_tos:
            problems.append(("https.agree_tos",
                             "must be true to get a certificate (Let's Encrypt's terms), got false"))
        if not https.email:
            problems.append(("https.email", "is needed when HTTPS is enabled (expiry notices), got ''"))
        if https.renewal == "timer" and has_systemd is False:
            problems.append(("https.renewal",
                             "'timer' needs systemd, which this machine does not run; use 'auto' or 'cron', "
                             "got 'timer'"))
    app = answers.app
    user_problem = v.user_problem(app.user, may_create=app.create_user)
    if user_problem:
        problems.append(("app.user", user_problem))
    owner = _other_home_owner(app.directory, app.user)
    if owner is not None:
        problems.append(("app.directory", f"must not be in {owner}'s home folder (the wizard gives the folder to "
                                          f"{app.user}), got {app.directory!r}"))
    socket_dir = socket_dir_of(app.bind)
    if socket_dir is not None and socket_dir != f"/run/{app.name}":
        problems.append(("app.bind", f"the socket must be under /run/{app.name}/, got {app.bind!r}"))
    elif socket_dir is not None and not _free_for(socket_dir, app.user):
        problems.append(("app.bind", f"{socket_dir} belongs to another program (the wizard gives it to {app.user}); "
                                     f"pick another app.name, got {app.bind!r}"))
    return problems


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
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


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
            raise AnswersError(source, section, f"must be a table [{section}], got {_type_name(table)}")
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
                raise AnswersError(source, spec.dotted, "is required")
            continue
        try:
            values[spec.section][spec.key] = spec.check(table[spec.key])
        except Invalid as error:
            raise AnswersError(source, spec.dotted, str(error)) from None
    problems = cross_check(with_defaults(values), has_systemd=has_systemd)
    if problems:
        raise AnswersError(source, *problems[0])
    return values


def parse_text(text: str, source: str, *, has_systemd: bool | None = None) -> dict[str, dict[str, Any]]:
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        raise AnswersError(source, "", f"not valid TOML: {error}") from None
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
