"""The verbs' own logic, on files made here: no supervisor, nginx or certbot needed."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest

from wizard import answers as answers_mod
from wizard import certs
from wizard.state import State
from wizard.verbs import apps, status
from wizard.verbs.apps import NoSuchApp, managed_apps
from wizard.verbs.certificate import certificate_status
from wizard.verbs.renewal import cron_line

REPO = Path(__file__).resolve().parent.parent


def _save_app(state_dir: Path, name: str, domains: list[str]) -> None:
    answers = answers_mod.load(REPO / "examples" / "answers.toml")
    answers.app.name, answers.site.domains = name, domains
    answers_mod.save(answers, state_dir / "apps" / f"{name}.toml")


@pytest.fixture()
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PISERVER_WIZARD_STATE_DIR", str(tmp_path))
    return tmp_path


def test_managed_apps_come_from_the_saved_answers(state_dir: Path) -> None:
    _save_app(state_dir, "one", ["one.test"])
    _save_app(state_dir, "two", ["two.test"])
    assert [a.name for a in managed_apps()] == ["one", "two"]
    assert managed_apps("two")[0].answers.site.domains == ["two.test"]
    with pytest.raises(NoSuchApp, match="'three'.*one, two"):
        managed_apps("three")


def test_a_broken_record_is_skipped_not_fatal(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _save_app(state_dir, "one", ["one.test"])
    (state_dir / "apps" / "bad.toml").write_text("[app]\nworkers = 0\n")
    assert [a.name for a in managed_apps()] == ["one"]
    assert "skipping" in capsys.readouterr().err


def test_unknown_app_exits_2(state_dir: Path) -> None:
    assert status.run(argparse.Namespace(app="nope", json=False, write_notice=False)) == 2


def test_no_apps_is_healthy_and_empty_json(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert status.run(argparse.Namespace(app=None, json=True, write_notice=True)) == 0
    assert json.loads(capsys.readouterr().out) == {"healthy": True, "apps": []}
    assert (state_dir / "notice").read_text() == ""  # all well: the login notice says nothing


def test_the_notice_names_each_app_with_a_problem() -> None:
    from wizard.verbs.notice import notice_line

    assert notice_line({}) == ""
    line = notice_line({"b": ["supervisor: b is STOPPED"], "a": ["the certificate expires in 3 days\nmore"]})
    assert line == ("piserver-wizard: 2 app(s) need attention: a (the certificate expires in 3 days); "
                    "b (supervisor: b is STOPPED). Run: sudo piserver-wizard status\n")


def _record(state: State, key: str, status_: str, finished: float) -> None:
    state.record(key, status_)
    state.steps[key].finished = finished


def test_last_run_is_told_by_the_newest_record(state_dir: Path) -> None:
    _save_app(state_dir, "one", ["one.test"])
    app = managed_apps("one")[0]
    state = State(state_dir / "state.json")
    _record(state, "one/venv", "failed", 100.0)   # an older run's failure
    _record(state, "one/verify", "done", 200.0)   # the last run ended well
    _record(state, "other/verify", "failed", 300.0)
    result = status.AppStatus("one")
    status._last_run(app, result, state)
    assert result.data["last_run"]["result"] == "done" and not result.problems
    _record(state, "one/pip", "running", 400.0)   # then a run was interrupted
    result = status.AppStatus("one")
    status._last_run(app, result, state)
    assert result.data["last_run"] == {"finished": "1970-01-01T00:06:40Z", "result": "running",
                                       "stopped_at": "pip"}
    assert "stopped at step pip" in result.problems[0]


def test_cron_line_ignores_comments(tmp_path: Path) -> None:
    cron = tmp_path / "cron"
    cron.write_text("# certbot renew is run below\nSHELL=/bin/sh\n30 4 1 * * root certbot renew --quiet\n")
    assert cron_line(str(cron)) == "30 4 1 * * root certbot renew --quiet"
    cron.write_text("# 30 4 1 * * root certbot renew --quiet\n")
    assert cron_line(str(cron)) is None
    assert cron_line(str(tmp_path / "absent")) is None


def _self_signed(folder: Path, names: list[str], days: int) -> None:
    folder.mkdir(parents=True)
    san = ",".join(f"DNS:{n}" for n in names)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "cert.pem"),
                    "-days", str(days), "-subj", "/CN=Test Issuer CA", "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True)


def test_certificate_names_issuer_and_days_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(certs, "LETSENCRYPT", tmp_path)
    _self_signed(tmp_path / "live" / "site", ["b.test", "a.test"], days=30)
    (tmp_path / "renewal").mkdir()
    (tmp_path / "renewal" / "site.conf").write_text("[renewalparams]\nserver = https://acme.test/dir\n")
    cert = certificate_status("site")
    assert cert is not None
    assert cert.names == ["a.test", "b.test"] and cert.issuer == "Test Issuer CA"
    assert cert.days_left in (29, 30) and cert.server == "https://acme.test/dir"
    assert cert.not_after.endswith("Z") and len(cert.not_after) == 20
    assert certificate_status("other") is None


def test_text_view_names_every_problem() -> None:
    result = status.AppStatus("one", ["supervisor: one is STOPPED"], {
        "state": "STOPPED", "pid": None, "uptime_seconds": None,
        "urls": [{"url": "http://one.test/", "ok": False, "detail": "refused"}],
        "certificate": None, "renewal": None,
        "last_run": {"result": "done", "finished": "2026-01-01T00:00:00Z"}, "answers_file": "/x.toml"})
    lines = status.text_lines(result)
    assert lines[0].startswith("one: PROBLEM  (STOPPED")
    assert "  FAIL http://one.test/" in lines and "  problem: supervisor: one is STOPPED" in lines
    assert result.to_json()["healthy"] is False


def test_apps_dir_follows_the_state_dir(state_dir: Path) -> None:
    assert apps.apps_dir() == state_dir / "apps"


def test_log_stamps_of_each_format() -> None:
    from wizard.verbs.logs import stamp_of

    access = stamp_of('127.0.0.1 - - [01/Dec/2026:21:34:57 +0000] "GET / HTTP/1.0" 200 250')
    gunicorn = stamp_of("[2026-12-01 21:34:57 +0000] [10985] [INFO] Booting worker with pid: 10987")
    assert access == gunicorn == 1796160897.0
    assert stamp_of("2026/12/01 21:34:57 [error] 12#12: *1 connect() failed") is not None
    assert stamp_of("Traceback (most recent call last):") is None


def test_logs_merge_in_time_order_and_follow(tmp_path: Path) -> None:
    from wizard.verbs.logs import Source, merged, render

    app_log, nginx_log = tmp_path / "out.log", tmp_path / "access.log"
    app_log.write_text('a - - [01/Dec/2026:10:00:02 +0000] "GET /two"\n'
                       "[2026-12-01 10:00:03 +0000] [1] [ERROR] boom\nTraceback (most recent call last):\n")
    nginx_log.write_text('n - - [01/Dec/2026:10:00:01 +0000] "GET /one"\nn - - [01/Dec/2026:10:00:04 +0000] "GET /x"\n')
    sources = [Source("app", app_log), Source("nginx", nginx_log)]
    lines = [render(e) for e in merged([s.read_new(1 << 20) for s in sources])]
    assert [line.split()[0] for line in lines] == ["nginx", "app", "app", "app", "nginx"]
    assert lines[3].endswith("Traceback (most recent call last):")  # stays after its own error line
    with nginx_log.open("a") as handle:
        handle.write('n - - [01/Dec/2026:10:00:05 +0000] "GET /new"\npartial')
    new = [render(e) for e in merged([s.read_new() for s in sources])]
    assert len(new) == 1 and new[0].endswith('"GET /new"')
    nginx_log.write_text('n - - [01/Dec/2026:10:00:06 +0000] "GET /rotated"\n')  # logrotate's new file
    assert [render(e) for e in sources[1].read_new()][0].endswith('"GET /rotated"')


def test_logs_tail_drops_the_line_cut_by_the_seek(tmp_path: Path) -> None:
    from wizard.verbs.logs import Source

    log = tmp_path / "big.log"
    log.write_text("".join(f"line {i:04}\n" for i in range(1000)))
    lines = [e[2] for e in Source("app", log).read_new(tail_bytes=100)]
    assert lines[-1] == "line 0999" and all(len(line) == 9 for line in lines)


def test_restart_loops_are_counted_in_supervisords_log(tmp_path: Path) -> None:
    import time as _time

    from wizard.verbs.app_checks import recent_exits

    log = tmp_path / "supervisord.log"
    now = _time.time()

    def stamp(ago: float) -> str:
        return _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(now - ago)) + ",123"

    log.write_text(f"{stamp(3000)} INFO exited: web (exit status 1; not expected)\n"
                   + "".join(f"{stamp(s)} INFO exited: web (exit status 3; not expected)\n" for s in (30, 20, 10))
                   + f"{stamp(5)} INFO exited: webby (exit status 1; not expected)\n"
                   + f"{stamp(4)} INFO exited: web (terminated by SIGTERM; expected)\n")
    assert recent_exits("web", now, log) == 3
    assert recent_exits("webby", now, log) == 1
    assert recent_exits("other", now, log) == 0


def test_edited_files_are_named(tmp_path: Path) -> None:
    from wizard.files import hash_of
    from wizard.verbs.cert_checks import edited_files

    same, edited, gone = (tmp_path / n for n in ("same", "edited", "gone"))
    for path in (same, edited, gone):
        path.write_text("written by the wizard\n")
    state = State(tmp_path / "state.json", files={str(p): hash_of(str(p)) for p in (same, edited, gone)})
    edited.write_text("changed by hand\n")
    gone.unlink()
    found = edited_files([str(same), str(edited), str(gone), str(tmp_path / "never")], state, "one")
    assert [(d.level, d.message.split(" was ")[1]) for d in found] == [
        ("warn", "edited since the wizard wrote it"), ("warn", "deleted since the wizard wrote it")]
    assert edited_files([str(same)], state)[0].level == "ok"


def test_a_failed_renewal_try_is_found_in_certbots_newest_log(tmp_path: Path) -> None:
    import os as _os

    from wizard.verbs.cert_checks import last_renewal

    app = apps.ManagedApp("site", answers_mod.load(REPO / "examples" / "answers.toml"), tmp_path / "a.toml")
    older, newer = tmp_path / "letsencrypt.log.1", tmp_path / "letsencrypt.log"
    older.write_text("Renewing an existing certificate\nFailed to renew certificate site with error: boom\n")
    _os.utime(older, (1, 1))
    assert last_renewal(app, tmp_path).level == "error"
    newer.write_text("Processing /etc/letsencrypt/renewal/site.conf\nCongratulations, all renewals succeeded\n")
    assert last_renewal(app, tmp_path).level == "ok"
    assert last_renewal(app, tmp_path / "none").level == "info"


def test_the_motd_script_prints_the_notice_or_nothing(state_dir: Path, tmp_path: Path) -> None:
    from wizard.verbs.notice import MOTD_SCRIPT, STATUS_CRON, rendered_files, write_notice

    files = rendered_files()
    script = tmp_path / "motd"
    script.write_text(files[MOTD_SCRIPT][0])
    script.chmod(files[MOTD_SCRIPT][1])
    write_notice({})
    assert subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout == ""
    write_notice({"blog": ["supervisor: blog is STOPPED"]})
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout
    assert out.startswith("piserver-wizard: 1 app(s) need attention: blog (supervisor: blog is STOPPED)")
    cron = files[STATUS_CRON][0]
    assert f"PISERVER_WIZARD_STATE_DIR={state_dir}" in cron
    assert "*/5 * * * * root " in cron and cron.rstrip().endswith("-m wizard status --write-notice >/dev/null 2>&1")


def test_the_running_bind_is_read_from_the_arbiters_command_line() -> None:
    """A run's reload is skipped when the arbiter listens elsewhere than the answers say (supervisor then
    restarts it): the bind it runs with comes from /proc, as gunicorn was started."""
    import sys
    import time

    from wizard.verbs.processes import option

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--bind", "127.0.0.1:4999"])
    try:
        for _ in range(100):  # the exec is done when the command line is python's
            if option(proc.pid, "--bind"):
                break
            time.sleep(0.05)
        assert option(proc.pid, "--bind") == "127.0.0.1:4999"
        assert option(proc.pid, "--workers") is None
    finally:
        proc.kill()
        proc.wait()
    assert option(proc.pid, "--bind") is None  # gone: nothing to compare, the reload goes on


def test_workers_older_than_the_settings_file_are_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify.workers_started_before_written on an arbiter of this test's own with one worker, supervisor's
    answer given: the workers' age, not the arbiter's, says whether a reload put the file's settings in place."""
    import os
    import sys
    import time

    from wizard import verify
    from wizard.verbs.processes import children

    arbiter = subprocess.Popen([sys.executable, "-c", "import subprocess, time\n"
                                "subprocess.Popen(['sleep', '60'])\ntime.sleep(60)"])
    monkeypatch.setattr(verify, "_supervisor_rpc_info", lambda program, path: {"pid": arbiter.pid})
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 2\n")
    long_ago = time.time() - 10 * 365 * 86400
    os.utime(conf, (long_ago, long_ago))
    try:
        for _ in range(200):  # until its worker runs
            if children(arbiter.pid):
                break
            time.sleep(0.05)
        assert not verify.workers_started_before_written("kilt", str(conf))  # the file is older
        conf.write_text("workers = 3\n")  # written after the worker started
        assert verify.workers_started_before_written("kilt", str(conf))
    finally:
        for pid in children(arbiter.pid):
            os.kill(pid, 9)
        arbiter.kill()
        arbiter.wait()
