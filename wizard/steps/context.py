"""What every step builder is handed: the answers, the machine's facts, the init system and the layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..answers import Answers
from ..commands import Command
from ..facts import AppFacts, Facts, installed_packages
from ..layout import AppLayout
from ..services import Services

SAMPLE_TEXT = "Hello, World!"


@dataclass(frozen=True)
class Context:
    answers: Answers
    facts: Facts
    services: Services
    layout: AppLayout
    app_facts: AppFacts
    state_files: dict[str, str] = field(default_factory=dict)  # path -> hash of what the wizard left there

    @property
    def sample_text(self) -> str | None:
        """What the sample app's page says, so checks can tell it from nginx's welcome page; nothing once the
        owner made the sample their own (the wizard keeps their app.py, and their page says what they wrote)."""
        sample = self.answers.app.source == "sample" and self.app_facts.page_is_the_samples
        return SAMPLE_TEXT if sample else None


def apt_get(*args: str, timeout: float = 1800.0) -> Command:
    """apt on a pty waits forever for a lock or a conffile question: wait bounded, answer nothing."""
    return Command.of(
        "apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Use-Pty=0",
        "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", *args,
        env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=timeout, needs=("proxy",),
    )


def all_installed(packages: tuple[str, ...]) -> Callable[[], bool]:
    return lambda: set(packages) <= set(installed_packages(packages))


def renewal_method(answers: Answers, services: Services) -> str:
    if answers.https.renewal == "auto":
        return "timer" if services.systemd else "cron"
    return answers.https.renewal


def done_when_inputs_unchanged() -> bool:
    """A completion rule for steps whose work leaves nothing to look at (a check, a test): the step is done
    when its recorded inputs are the ones of this run (the engine compares the fingerprints)."""
    return True
