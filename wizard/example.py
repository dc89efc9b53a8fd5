"""The example answers file, shipped inside the wheel so an installed wizard can print it.

``--example-answers`` reads it from here; the messages that point the user to an example point to that
option, because a Pi owner who installed a wheel has no ``examples/`` folder to look in.
"""

from __future__ import annotations

import os

EXAMPLE_NAME = "answers.toml"


def example_path() -> str:
    """Inside the wheel it sits in the package (wizard/examples); in a source checkout, beside it."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in (os.path.join(here, "examples"), os.path.join(os.path.dirname(here), "examples")):
        candidate = os.path.join(folder, EXAMPLE_NAME)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"piserver-wizard's example answers are missing (looked beside {here})")


def example_text() -> str:
    with open(example_path(), encoding="utf-8") as handle:
        return handle.read()
