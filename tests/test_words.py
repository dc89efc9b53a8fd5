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


class _Site:
    """A real HTTP server on a free loopback port that answers every GET with one fixed response."""

    def __init__(self, status: int, body: str = "", location: str = "") -> None:
        import http.server
        import threading

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                self.send_response(outer.status)
                if outer.location:
                    self.send_header("Location", outer.location)
                self.end_headers()
                self.wfile.write(outer.body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.status, self.body, self.location = status, body, location
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status, body, location, redirect, said", [
    (502, "<html>bad gateway</html>", "", False,
     "http://pi.example.com/ answered 502 Bad Gateway: nginx runs, but the app does not answer it (see the "
     "app's error log)"),
    (200, "Welcome to nginx!", "", False,
     'http://pi.example.com/ answered, but not with the app\'s page (no "Hello, World!" in it)'),
    (200, "Hello, World!", "", True,
     "http://pi.example.com/ answered HTTP status 200, not the redirect to https://pi.example.com/ it should send"),
    (301, "", "https://other.example.com/", True,
     "http://pi.example.com/ answered HTTP status 301 to https://other.example.com/, not the redirect to "
     "https://pi.example.com/ it should send"),
])
def test_the_final_check_says_what_it_saw(status, body, location, redirect, said):
    from wizard.verify import check_http

    site = _Site(status, body, location)
    try:
        ok, message = check_http("pi.example.com", expect_redirect=redirect, expect_text="Hello, World!",
                                 port=site.port)
    finally:
        site.close()
    assert (ok, message) == (False, said)
