"""The answers: what the user wants, as one typed object, loaded from and saved to TOML.

The keys, defaults, validators and help texts live in ``schema`` (the single description of every answer,
also what the TUI's questions and ``--check`` use); this module is the typed model built on it, and the
commented file written by "Save answers".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from . import validators as v
from .schema import FIELD_BY_KEY, FIELDS, SECTIONS, AnswersError, Field, socket_dir_of  # noqa: F401
from .validators import Invalid  # noqa: F401


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
        return socket_dir_of(self.bind)


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
    """Rules between keys, as (dotted key, message) pairs so the TUI can show each under its field."""
    return schema.cross_check(answers, has_systemd=has_systemd)


def from_mapping(data: dict[str, Any], source: str, *, has_systemd: bool | None = None) -> Answers:
    """Validate a parsed TOML document; the first problem found is raised, named by its dotted key."""
    return _build(schema.validate(data, source, has_systemd=has_systemd))


def parse_text(text: str, source: str, *, has_systemd: bool | None = None) -> Answers:
    return _build(schema.parse_text(text, source, has_systemd=has_systemd))


def load(path: Path, *, has_systemd: bool | None = None) -> Answers:
    """Read and validate an answers file; every way a file can be unusable becomes an AnswersError."""
    return _build(schema.load(path, has_systemd=has_systemd))


def _build(values: dict[str, dict[str, Any]]) -> Answers:
    return Answers(**{s: _SECTION_TYPES[s](**values.get(s, {})) for s in SECTIONS})


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
