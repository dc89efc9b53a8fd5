"""The answers while they are being typed: raw text per field, checked by the engine's own validators.

No Textual here. The question screens write what the user typed into a :class:`Draft` and read back the
messages to show; the checks are ``Field.check`` and ``cross_check`` from ``wizard.answers``, the same
ones an answers file goes through, so the screen and the file can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from wizard import dns01
from wizard.answers import FIELDS, SECTIONS, Answers, Field, cross_check, from_sections
from wizard.facts import Facts
from wizard.schema import default_workers
from wizard.validators import Invalid

# The fields whose value is one of a fixed set, offered as a list; the set comes from the field table.
CHOICES: dict[str, tuple[str, ...]] = {f.dotted: f.options for f in FIELDS if f.options}

# Each field's label, from the field table (the one place it is written).
LABELS: dict[str, str] = {f.dotted: f.label for f in FIELDS}

SECTION_TITLES = {"system": "System", "site": "Site", "app": "App", "https": "HTTPS"}
SECTION_INTROS = {
    "system": "How to treat the machine's packages before installing.",
    "site": "Your domain names. Each needs a DNS record pointing at your home's public address, and your "
            "router must forward ports 80 and 443 to this Pi.",
    "app": "Your Flask app: where it lives, which user runs it, and how nginx reaches it.",
    "https": "A Let's Encrypt certificate for the names above, and how it renews.",
}

def kind(field: Field) -> str:
    """How a field is asked: "bool" (a toggle), "choice" (a list), "int", "list" or "text" (an input line)."""
    if field.dotted in CHOICES:
        return "choice"
    if isinstance(field.default, bool):
        return "bool"
    if isinstance(field.default, int):
        return "int"
    if isinstance(field.default, list):
        return "list"
    return "text"


def to_raw(field: Field, value: Any) -> Any:
    """A typed answer as the widget holds it: bools stay bools, lists become text, the rest text."""
    k = kind(field)
    if k == "bool":
        return bool(value)
    if k == "list":
        return (", " if field.dotted == "site.domains" else " ").join(value)
    return str(value)


def parse(field: Field, raw: Any) -> Any:
    """What the user typed, turned into the shape the validator expects; the validator judges the rest."""
    k = kind(field)
    if k == "bool" or k == "choice":
        return raw
    text = str(raw)
    if k == "int":
        return int(text.strip()) if re.fullmatch(r"\s*-?\d{1,9}\s*", text) else text
    if k == "list":
        if field.dotted == "site.domains":
            return text  # wizard.validators.domains splits on commas and spaces itself
        return [part for part in re.split(r"[\s]+", text.replace(", ", " ")) if part]
    return text


def defaults_for(facts: Facts) -> Answers:
    """Answers() with what the machine tells us (its cores and memory), and a dedicated app user named after the
    app, made by the wizard: the web app then reaches no login user's files (SECURITY.md)."""
    answers = Answers()
    name = answers.app.name
    answers.app = replace(answers.app, user=name, create_user=True,
                          workers=default_workers(facts.cores, facts.memory_bytes),
                          directory=folder_for(name, name, True))
    return answers


def folder_for(user: str, name: str, dedicated: bool) -> str:
    """Where the app goes by default: /srv/NAME for a user the wizard creates, else in the user's home."""
    return f"/srv/{name}" if dedicated else f"/home/{user}/{name}"


class Draft:
    """Every field's raw value, kept across Back and Next; valid or not, it is what the user typed."""

    def __init__(self, facts: Facts, answers: Answers | None = None) -> None:
        self.facts = facts
        base = answers if answers is not None else defaults_for(facts)
        self.raw: dict[str, Any] = {f.dotted: to_raw(f, base.get(f.dotted)) for f in FIELDS}
        self.touched: set[str] = set()
        # What the DNS provider's credentials file will hold (tokens included): never an answer, never saved.
        self.dns_values: dict[str, str] = {}
        self.attempted: set[str] = set()  # sections where Next was pressed
        # The folder follows /srv/NAME or /home/USER/NAME, and a dedicated user the app's name, until edited
        # (fresh answers only).
        self.directory_follows = answers is None
        self.user_follows = answers is None

    def fields(self, section: str) -> list[Field]:
        """The fields asked on a section's screen; apache removal only where apache is installed."""
        return [f for f in FIELDS if f.section == section
                and not (f.dotted == "system.remove_apache" and not self.facts.has("apache2"))
                and self._relevant(f.dotted)]

    def _relevant(self, dotted: str) -> bool:
        """DNS-01's questions only when it is chosen, the challenge only where a public CA checks one."""
        public_ca = self.raw["https.mode"] == "certonly"
        if dotted == "https.challenge":
            return public_ca
        if dotted.startswith("https.dns_"):
            return public_ca and self.raw["https.challenge"] == "dns-01"
        return True

    def set(self, dotted: str, raw: Any) -> set[str]:
        """Store a typed value; returns the other keys whose raw value changed because of it."""
        if self.raw.get(dotted) == raw:
            return set()
        self.raw[dotted] = raw
        self.touched.add(dotted)
        changed: set[str] = set()
        if dotted == "app.directory":
            self.directory_follows = False
        if dotted == "app.user":
            self.user_follows = False
        if dotted == "app.name" and self.user_follows and self.raw["app.create_user"] is True:
            if self.raw["app.user"] != raw:
                self.raw["app.user"] = raw
                changed.add("app.user")
        if dotted in ("app.user", "app.name", "app.create_user") and self.directory_follows:
            folder = folder_for(self.raw["app.user"], self.raw["app.name"], self.raw["app.create_user"] is True)
            if self.raw["app.directory"] != folder:
                self.raw["app.directory"] = folder
                changed.add("app.directory")
        return changed

    def checked(self, field: Field) -> tuple[Any, str | None]:
        try:
            return field.check(parse(field, self.raw[field.dotted])), None
        except Invalid as error:
            return None, str(error)

    def _answers(self, strict: bool) -> tuple[Answers, dict[str, str]]:
        errors: dict[str, str] = {}
        values: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        for field in FIELDS:
            value, error = self.checked(field)
            if error is None:
                values[field.section][field.key] = value
            else:
                errors[field.dotted] = error
                if not strict:  # stand in with the default so the rules between keys can still run
                    values[field.section][field.key] = field.fresh_default()
        return from_sections(values), errors

    def dns_settings(self) -> tuple[tuple[str, str, bool], ...]:
        """The settings the chosen DNS plugin's file holds, when dns-01 is chosen; the screen asks them."""
        if not self._relevant("https.dns_provider"):
            return ()
        return dns01.PROVIDERS.get(str(self.raw["https.dns_provider"]).strip().lower(), ())

    def pending_credentials(self) -> tuple[str, str] | None:
        """(path, file text) once every setting is typed: the file is written when the page is left."""
        settings = self.dns_settings()
        if not settings or not all(self.dns_values.get(key, "").strip() for key, _, _ in settings):
            return None
        provider = str(self.raw["https.dns_provider"]).strip().lower()
        text = dns01.credentials_text(provider, {key: self.dns_values[key] for key, _, _ in settings})
        return dns01.default_credentials_path(provider), text

    def write_credentials(self) -> str | None:
        """Write the typed credentials root-only, name the file in the answers, forget the token."""
        pending = self.pending_credentials()
        if pending is None:
            return None
        path, text = pending
        dns01.write_credentials(path, text)
        self.dns_values.clear()
        self.raw["https.dns_credentials"] = path
        return path

    def errors(self, section: str | None = None) -> dict[str, str]:
        """Each wrong field's message: its own check first, then the rules between keys."""
        answers, errors = self._answers(strict=False)
        for dotted, message in cross_check(answers, has_systemd=self.facts.systemd):
            errors.setdefault(dotted, message)
        if self.pending_credentials() is not None and errors.get("https.dns_credentials"):
            errors.pop("https.dns_credentials")  # the file is written from the values typed on this page
        if section is None:
            return errors
        asked = {f.dotted for f in self.fields(section)}
        return {k: v for k, v in errors.items() if k in asked}

    def shown_errors(self, section: str) -> dict[str, str]:
        """What to show under the fields now: not an empty field nobody has touched yet, unless Next was tried."""
        errors = self.errors(section)
        if section in self.attempted:
            return errors
        return {k: v for k, v in errors.items()
                if k in self.touched or (isinstance(self.raw[k], str) and self.raw[k].strip())}

    def answers(self) -> Answers:
        """The finished answers; only call when ``errors()`` is empty."""
        answers, errors = self._answers(strict=True)
        problems = dict(errors)
        for dotted, message in cross_check(answers, has_systemd=self.facts.systemd):
            problems.setdefault(dotted, message)
        if problems:
            dotted, message = next(iter(problems.items()))
            raise Invalid(f"{dotted}: {message}")
        return answers
