"""The apps the wizard manages on this machine: one saved answers file per app in the state folder.

A run saves its answers as ``apps/NAME.toml`` beside the state, so that file is the record that the app
exists; the verbs read it back rather than guessing from nginx or supervisor, which may hold other sites.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .. import answers as answers_mod
from ..answers import Answers
from ..state import state_dir
from .layout import AppPaths, paths_of


@dataclass(frozen=True)
class ManagedApp:
    name: str
    answers: Answers
    answers_file: Path

    @property
    def paths(self) -> AppPaths:
        return paths_of(self.answers)


class NoSuchApp(Exception):
    """The name given is not an app this wizard installed here."""


def apps_dir() -> Path:
    return state_dir() / "apps"


def load_app(path: Path) -> ManagedApp | None:
    """An unreadable record is reported and skipped: one broken file must not hide the other apps."""
    try:
        answers = answers_mod.load(path)
    except answers_mod.AnswersError as error:
        print(f"piserver-wizard: skipping {path}: {error}", file=sys.stderr)
        return None
    return ManagedApp(answers.app.name, answers, path)


def managed_apps(only: str | None = None) -> list[ManagedApp]:
    """Every managed app, by name; with ``only``, that one app or NoSuchApp."""
    files = sorted(apps_dir().glob("*.toml")) if apps_dir().is_dir() else []
    apps = [app for app in (load_app(f) for f in files) if app is not None]
    if only is None:
        return apps
    chosen = [app for app in apps if app.name == only]
    if not chosen:
        known = ", ".join(a.name for a in apps) or "none"
        raise NoSuchApp(f"no app named {only!r} is managed here (managed: {known})")
    return chosen
