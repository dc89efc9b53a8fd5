"""The installed piserver-wizard in a real pty at 80x24: the welcome screen names this machine, Ctrl+Q leaves."""

from __future__ import annotations

import os
import re
import socket
import time

import pytest

pexpect = pytest.importorskip("pexpect")

_ANSI = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def read_until(child, wanted, timeout: float) -> str:
    """Everything the app drew until ``wanted(screen_text)`` holds (ANSI removed, spaces squeezed)."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen += child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            pass
        if wanted(_ANSI.sub(" ", seen)):
            return seen
    raise AssertionError(f"not seen within {timeout} s; the app drew:\n{_ANSI.sub(' ', seen)[-2000:]}")


def test_installed_wizard_shows_this_machine_and_quits_cleanly(tmp_path, wizard_bin):
    program = wizard_bin  # the console script of the installed wheel (conftest.py)
    hostname = socket.gethostname()
    env = dict(os.environ, TERM="xterm-256color", PISERVER_WIZARD_STATE_DIR=str(tmp_path / "state"),
               PISERVER_WIZARD_LOG_DIR=str(tmp_path / "logs"), COLUMNS="80", LINES="24")
    child = pexpect.spawn(program, [], env=env, dimensions=(24, 80), encoding="utf-8",
                          codec_errors="replace", timeout=30)
    try:
        on_screen = re.compile(r"Hostname\s+" + re.escape(hostname) + r"\s")
        drawn = read_until(child, lambda text: on_screen.search(text) is not None, timeout=30)
        assert "\x1b[?1049h" in drawn  # the alternate screen is in use
        child.send("\x11")  # Ctrl+Q
        child.expect(pexpect.EOF, timeout=20)
        rest = child.before or ""
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
    assert "\x1b[?1049l" in drawn + rest  # the alternate screen is left: the terminal is restored
    assert "Traceback" not in _ANSI.sub(" ", drawn + rest)
