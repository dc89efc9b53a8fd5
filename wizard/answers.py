"""The answers: what the user wants, as one typed object, loaded from and saved to TOML.

The keys, defaults, validators and help texts live in ``schema`` (the single description of every answer,
also what the TUI's questions and ``--check`` use); this module is the typed model built on it, and the
commented file written by "Save answers".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema
from . import validators as v
from .schema import FIELD_BY_KEY, FIELDS, SECTIONS, AnswersError, Field, socket_dir_of  # noqa: F401
from .validators import Invalid  # noqa: F401


def _default(dotted: str) -> Any:
    """The schema's default for one key, as a dataclass field: the table in ``schema`` is the only copy."""
    spec = FIELD_BY_KEY[dotted]
    return field(default_factory=spec.fresh_default)


@dataclass
class SystemAnswers:
    update_packages: bool = _default("system.update_packages")
    remove_apache: bool = _default("system.remove_apache")


@dataclass
class SiteAnswers:
    domains: list[str] = _default("site.domains")
    disable_default_site: bool = _default("site.disable_default_site")
    serve_lan_addresses: bool = _default("site.serve_lan_addresses")
    max_upload: str = _default("site.max_upload")


@dataclass
class AppAnswers:
    name: str = _default("app.name")
    user: str = _default("app.user")
    create_user: bool = _default("app.create_user")
    directory: str = _default("app.directory")
    source: str = _default("app.source")
    wsgi: str = _default("app.wsgi")
    workers: int = _default("app.workers")
    bind: str = _default("app.bind")
    packages: list[str] = _default("app.packages")

    @property
    def venv(self) -> str:
        return f"{self.directory}/venv"

    @property
    def socket_dir(self) -> str | None:
        return socket_dir_of(self.bind)


@dataclass
class HttpsAnswers:
    enabled: bool = _default("https.enabled")
    email: str = _default("https.email")
    agree_tos: bool = _default("https.agree_tos")
    mode: str = _default("https.mode")
    challenge: str = _default("https.challenge")
    dns_provider: str = _default("https.dns_provider")
    dns_credentials: str = _default("https.dns_credentials")
    dns_propagation_seconds: int = _default("https.dns_propagation_seconds")
    acme_server: str = _default("https.acme_server")
    redirect: bool = _default("https.redirect")
    renewal: str = _default("https.renewal")
    cron_schedule: str = _default("https.cron_schedule")

    @property
    def directory_url(self) -> str:
        return v.ACME_SERVERS.get(self.acme_server, self.acme_server)


Section = SystemAnswers | SiteAnswers | AppAnswers | HttpsAnswers


@dataclass
class Answers:
    system: SystemAnswers = field(default_factory=SystemAnswers)
    site: SiteAnswers = field(default_factory=SiteAnswers)
    app: AppAnswers = field(default_factory=AppAnswers)
    https: HttpsAnswers = field(default_factory=HttpsAnswers)

    def get(self, dotted: str) -> Any:
        section, key = dotted.split(".")
        return getattr(getattr(self, section), key)


# The one map from a section's name to its type (the TUI's draft builds answers through it too).
SECTION_TYPES: dict[str, type[Section]] = {
    "system": SystemAnswers, "site": SiteAnswers, "app": AppAnswers, "https": HttpsAnswers}


def from_sections(values: dict[str, dict[str, Any]]) -> Answers:
    """Typed answers from validated values per section; keys left out take the schema's defaults."""
    return Answers(**{s: SECTION_TYPES[s](**values.get(s, {})) for s in SECTIONS})  # type: ignore[arg-type]


def cross_check(answers: Answers, *, has_systemd: bool | None = None) -> list[tuple[str, str]]:
    """Rules between keys, as (dotted key, message) pairs so the TUI can show each under its field."""
    return schema.cross_check(answers, has_systemd=has_systemd)


def from_mapping(data: dict[str, Any], source: str, *, has_systemd: bool | None = None) -> Answers:
    """Validate a parsed TOML document; the first problem found is raised, named by its dotted key."""
    return from_sections(schema.validate(data, source, has_systemd=has_systemd))


def parse_text(text: str, source: str, *, has_systemd: bool | None = None) -> Answers:
    return from_sections(schema.parse_text(text, source, has_systemd=has_systemd))


def load(path: Path, *, has_systemd: bool | None = None) -> Answers:
    """Read and validate an answers file; every way a file can be unusable becomes an AnswersError."""
    return from_sections(schema.load(path, has_systemd=has_systemd))


def dumps(answers: Answers) -> str:
    """The answers as a commented TOML file; ``dumps(parse_text(dumps(a)))`` is byte-identical."""
    import tomlkit  # only needed when saving, keep it off the start-up path

    document = tomlkit.document()
    document.add(tomlkit.comment("piserver-wizard answers: run again unattended with"))
    document.add(tomlkit.comment("  sudo piserver-wizard --answers THIS_FILE"))
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
    """Root's folders are written by root; a person's own folder (their home) by that person (boundary)."""
    from .files import write_anywhere

    write_anywhere(path, dumps(answers).encode(), mode=0o600)
