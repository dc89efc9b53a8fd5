"""Rendering config files from the Jinja2 templates shipped in the wheel.

The templates are written in the top-level ``templates/`` folder of the source tree and packaged as
``wizard/templates`` (see pyproject.toml); they are read as package resources (``importlib.resources``),
so there is one place to look, wherever and however the package is installed.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

MANAGED = "Written by piserver-wizard from its answers; a re-run of the wizard replaces it."


def templates_dir() -> Traversable:
    """The templates inside the installed package."""
    folder = resources.files("wizard") / "templates"
    if not folder.joinpath("nginx-site.conf.j2").is_file():
        raise FileNotFoundError(f"piserver-wizard's templates are missing from {folder}: install the wheel "
                                "(pip install .), which packages templates/ as wizard/templates")
    return folder


def _source(name: str) -> str:
    return templates_dir().joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # config files, not HTML; every value interpolated is validated first
    )


def render(name: str, **context: Any) -> str:
    text = _environment().get_template(name).render(managed=MANAGED, **context)
    return text if text.endswith("\n") else text + "\n"
