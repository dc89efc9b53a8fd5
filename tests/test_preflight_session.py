"""Findings about how the wizard was started come from preflight, for both front ends."""

from __future__ import annotations

from wizard import preflight
from wizard.preflight import Level

import tui_helpers as h


def test_plain_ssh_is_noted_and_tmux_or_screen_is_not():
    facts = h.fixed_facts()
    (finding,) = preflight.session(facts, {"SSH_CONNECTION": "10.0.0.2 5000 10.0.0.1 22"})
    assert finding.level is Level.INFO and finding.code == "ssh" and "tmux" in finding.message
    assert preflight.session(facts, {"SSH_TTY": "/dev/pts/0", "TMUX": "/tmp/tmux-0/default,1,0"}) == []
    assert preflight.session(facts, {"SSH_TTY": "/dev/pts/0", "STY": "1.pts-0"}) == []
    assert preflight.session(facts, {}) == []


def test_not_root_is_a_warning():
    (finding,) = preflight.session(h.fixed_facts(is_root=False), {})
    assert finding.level is Level.WARN and "sudo piserver-wizard" in finding.message
