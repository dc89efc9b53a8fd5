"""The answers: what the user wants, as one typed object, loaded from and saved to TOML.

The field table below is the single description of every answer: its default, its validator and the help
text. Loading, the TUI's questions and the commented file written by "Save answers" are all driven by it,
so a key cannot be validated one way in the file and another way on screen.
"""

from __future__ import annotations

import os
import pwd
import stat
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import validators as v
from .validators import Invalid


class AnswersError(Exception):
    """A refused answers file. ``str()`` is the whole message the user sees: file, then key or position."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source, self.where, self.message = source, where, message
        super().__init__(f"{source}: {where}: {message}" if where else f"{source}: {message}")


@dataclass(frozen=True)
class Field:
    section: str
    key: str
    default: Any
    check: Callable[[Any], Any]
    help: str
    required: bool = False

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        return v.choice(value, options)
    return check


FIELDS: tuple[Field, ...] = (
    Field("system", "update_packages", True, v.boolean, "apt update first"),
    Field("system", "remove_apache", True, v.boolean, "purge apache2 if it is installed"),
    Field("site", "domains", [], v.domains,
          "first is the primary name; all share one certificate", required=True),
    Field("site", "disable_default_site", True, v.boolean, "unlink nginx's default site"),
    Field("app", "name", "hello", v.app_name,
          "[a-z][a-z0-9-]{0,31}: names the supervisor program, nginx site, log folder"),
    Field("app", "user", "pi", v.app_user, "existing non-root user that runs gunicorn"),
    Field("app", "directory", "/home/pi/hello", v.directory, "absolute; holds the app and its venv/"),
    Field("app", "source", "sample", v.source,
          '"sample": write the Flask hello app; "existing": use the app already there'),
    Field("app", "wsgi", "app:app", v.wsgi, "module:callable for gunicorn"),
    Field("app", "workers", 4, v.workers, "gunicorn worker processes (2 x cores + 1 is a good start)"),
    Field("app", "bind", "127.0.0.1:4000", v.bind, 'or "unix:/run/NAME/gunicorn.sock"'),
    Field("app", "packages", ["flask", "gunicorn"], v.packages,
          "requirement specifiers for the venv; a requirements.txt there is honoured too"),
    Field("https", "enabled", True, v.boolean, "get a Let's Encrypt certificate and serve HTTPS"),
    Field("https", "email", "", v.email, "for expiry notices from the certificate authority"),
    Field("https", "agree_tos", False, v.boolean,
          "Let's Encrypt subscriber agreement; required when enabled"),
    Field("https", "mode", "certonly", _choice("certonly", "certbot-nginx"),
          '"certonly": the wizard writes the TLS server block; "certbot-nginx": certbot edits the site'),
    Field("https", "acme_server", "letsencrypt", v.acme_server,
          '"letsencrypt", "letsencrypt-staging", or an ACME directory URL'),
    Field("https", "redirect", True, v.boolean, "HTTP -> HTTPS"),
    Field("https", "renewal", "auto", _choice("auto", "cron", "timer"),
          '"auto": certbot\'s systemd timer if present, else cron; "cron"; "timer"'),
    Field("https", "cron_schedule", "30 4 1 * *", v.cron_schedule, "used when renewal is by cron"),
)

SECTIONS: tuple[str, ...] = ("system", "site", "app", "https")
FIELD_BY_KEY: dict[str, Field] = {f.dotted: f for f in FIELDS}


@dataclass
class SystemAnswers:
    update_packages: bool = True
    remove_apache: bool = True


@dataclass
class SiteAnswers:
    domains: list[str] = field(default_factory=list)
    disable_default_site: bool = True


@dataclass
class AppAnswers:
    name: str = "hello"
    user: str = "pi"
    directory: str = "/home/pi/hello"
    source: str = "sample"
    wsgi: str = "app:app"
    workers: int = 4
    bind: str = "127.0.0.1:4000"
    packages: list[str] = field(default_factory=lambda: ["flask", "gunicorn"])

    @property
    def venv(self) -> str:
        return f"{self.directory}/venv"

    @property
    def socket_dir(self) -> str | None:
        return str(Path(self.bind[len("unix:"):]).parent) if self.bind.startswith("unix:") else None


@dataclass
class HttpsAnswers:
    enabled: bool = True
    email: str = ""
    agree_tos: bool = False
    mode: str = "certonly"
    acme_server: str = "letsencrypt"
    redirect: bool = True
    renewal: str = "auto"
    cron_schedule: str = "30 4 1 * *"

    @property
    def directory_url(self) -> str:
        return v.ACME_SERVERS.get(self.acme_server, self.acme_server)


@dataclass
class Answers:
    system: SystemAnswers = field(default_factory=SystemAnswers)
    site: SiteAnswers = field(default_factory=SiteAnswers)
    app: AppAnswers = field(default_factory=AppAnswers)
    https: HttpsAnswers = field(default_factory=HttpsAnswers)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return asdict(self)

    def get(self, dotted: str) -> Any:
        section, key = dotted.split(".")
        return getattr(getattr(self, section), key)


_SECTION_TYPES = {"system": SystemAnswers, "site": SiteAnswers, "app": AppAnswers, "https": HttpsAnswers}


def cross_check(answers: Answers, *, has_systemd: bool | None = None) -> list[tuple[str, str]]:
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
    owner = _other_home_owner(app.directory, app.user)
    if owner is not None:
        problems.append(("app.directory", f"must not be in {owner}'s home folder (the wizard gives the folder to "
                                          f"{app.user}), got {app.directory!r}"))
    socket_dir = app.socket_dir
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


def from_mapping(data: dict[str, Any], source: str, *, has_systemd: bool | None = None) -> Answers:
    """Validate a parsed TOML document; the first problem found is raised, named by its dotted key."""
    for section, table in data.items():
        if section not in SECTIONS:
            import difflib  # only on a mistake: keep it off the start-up path

            hint = difflib.get_close_matches(section, SECTIONS, n=1)
            homes = [f.dotted for f in FIELDS if f.key == section]
            if hint:
                extra = f" (did you mean [{hint[0]}]?)"
            elif homes:
                extra = f" (did you mean {homes[0]}? it belongs under [{homes[0].split('.')[0]}])"
            else:
                extra = f" (known: {', '.join(SECTIONS)})"
            raise AnswersError(source, section, f"unknown section{extra}")
        if not isinstance(table, dict):
            raise AnswersError(source, section, f"must be a table [{section}], got {_type_name(table)}")
        known = [f.key for f in FIELDS if f.section == section]
        for key in table:
            if key not in known:
                import difflib

                hint = difflib.get_close_matches(key, known, n=1)
                hint = hint or [k for k in known if len(key) >= 3 and k.startswith(key)]  # cron -> cron_schedule
                elsewhere = [f.dotted for f in FIELDS if f.key == key]
                if hint:
                    extra = f" (did you mean {section}.{hint[0]}?)"
                elif elsewhere:
                    extra = f" (did you mean {elsewhere[0]}? it belongs under [{elsewhere[0].split('.')[0]}])"
                else:
                    extra = ""
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
    answers = Answers(**{s: _SECTION_TYPES[s](**values[s]) for s in SECTIONS})
    problems = cross_check(answers, has_systemd=has_systemd)
    if problems:
        raise AnswersError(source, *problems[0])
    return answers


def parse_text(text: str, source: str, *, has_systemd: bool | None = None) -> Answers:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AnswersError(source, "", f"not valid TOML: {error}") from None
    except RecursionError:
        raise AnswersError(source, "", "not valid TOML: arrays or tables nested too deeply") from None
    return from_mapping(data, source, has_systemd=has_systemd)


def load(path: Path, *, has_systemd: bool | None = None) -> Answers:
    """Read and validate an answers file; every way a file can be unusable becomes an AnswersError."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AnswersError(source, "", "no such file") from None
    except IsADirectoryError:
        raise AnswersError(source, "", "is a directory, not an answers file") from None
    except OSError as error:
        raise AnswersError(source, "", f"cannot be read: {error.strerror}") from None
    if not raw.strip():
        raise AnswersError(source, "", "is empty; see examples/answers.toml for a complete file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AnswersError(source, "", f"is not UTF-8 text (byte {error.start}); is it an answers file?") from None
    if "\x00" in text:
        raise AnswersError(source, "", "holds NUL bytes; is it an answers file?")
    return parse_text(text, source, has_systemd=has_systemd)


def dumps(answers: Answers) -> str:
    """The answers as a commented TOML file; ``dumps(parse_text(dumps(a)))`` is byte-identical."""
    import tomlkit  # only needed when saving, keep it off the start-up path

    document = tomlkit.document()
    document.add(tomlkit.comment("piserver-wizard answers: run again unattended with"))
    document.add(tomlkit.comment("  piserver-wizard --answers THIS_FILE"))
    for section in SECTIONS:
        table = tomlkit.table()
        for spec in (f for f in FIELDS if f.section == section):
            item = tomlkit.item(answers.get(spec.dotted))
            item.comment(spec.help)
            table.add(spec.key, item)
        document.add(tomlkit.nl())
        document.add(section, table)
    return tomlkit.dumps(document)


def save(answers: Answers, path: Path) -> None:
    from .files import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, dumps(answers).encode(), mode=0o600)


def section_fields(section: str) -> list[Field]:
    return [f for f in FIELDS if f.section == section]
