"""Failures in plain words: the app's import check and the engine's unexpected errors name no exception class."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.steps.app import _IMPORT_CHECK
from wizard.wording import describe


def import_check(folder: Path, wsgi: str) -> tuple[int, str]:
    module, _, name = wsgi.partition(":")
    done = subprocess.run([sys.executable, "-c", _IMPORT_CHECK, module, name], cwd=folder, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout.strip()


@pytest.mark.parametrize("source, wsgi, said", [
    ("import flask_login_not_here\napp = 1\n", "app:app",
     "Error: the app needs the Python package 'flask_login_not_here', which is not installed: add it to "
     "requirements.txt (or app.packages) and run the wizard again"),
    ("app = 1\n", "nothere:app", 'Error: there is no nothere.py in the app folder (wsgi = "nothere:app")'),
    ("application = 1\n", "app:app",
     "Error: app has nothing called app: wsgi must name the Flask object in it (app:app is the object app in "
     "app.py)"),
    ("raise RuntimeError('DATABASE_URL is not set')\n", "app:app",
     "Error: app fails while it loads: DATABASE_URL is not set ({folder}/app.py, line 1)"),
])
def test_import_check_says_what_is_wrong(tmp_path, source, wsgi, said):
    (tmp_path / "app.py").write_text(source)
    code, out = import_check(tmp_path, wsgi)
    assert code == 1 and out == said.format(folder=tmp_path)
    assert "Error:" in out and "ModuleNotFoundError" not in out and "AttributeError" not in out


def test_import_check_points_at_a_syntax_mistake(tmp_path):
    (tmp_path / "app.py").write_text("app = 1\ndef broken(:\n")
    code, out = import_check(tmp_path, "app:app")
    assert code == 1 and out.startswith(f"Error: a mistake in the Python code of {tmp_path}/app.py, line 2: ")


def test_import_check_passes_a_good_app(tmp_path):
    (tmp_path / "app.py").write_text("app = object()\n")
    assert import_check(tmp_path, "app:app") == (0, "")


@pytest.mark.parametrize("error, said", [
    (PermissionError(errno.EACCES, "Permission denied", "/etc/x"), "permission denied: /etc/x"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/srv/hello/app.py"),
     "no such file or folder: /srv/hello/app.py"),
    (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    (TimeoutError(), "it took too long and was stopped"),
    (KeyError("app"), "an unexpected problem inside the wizard ('app'); please report it with the run log. "
                      "Running the same command again retries this step"),
])
def test_unexpected_errors_in_plain_words(error, said):
    assert describe(error) == said
