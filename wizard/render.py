"""Rendering config files from the Jinja2 templates shipped in the wheel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

MANAGED = "Written by piserver-wizard from its answers; a re-run of the wizard replaces it."


def templates_dir() -> Path:
    """Inside the wheel the templates sit in the package; in a source checkout, beside it."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "nginx-site.conf.j2").is_file():
            return candidate
    raise FileNotFoundError(f"piserver-wizard's templates are missing (looked in {here})")


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # config files, not HTML; every value interpolated is validated first
    )


def render(name: str, **context: Any) -> str:
    text = _environment().get_template(name).render(managed=MANAGED, **context)
    return text if text.endswith("\n") else text + "\n"
