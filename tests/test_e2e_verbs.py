"""The verbs on a machine with two apps installed for real (nginx, supervisor, gunicorn, pebble's certs).

The two apps live in a state folder of their own (PISERVER_WIZARD_STATE_DIR), so apps other tests leave
on this shared machine are not "managed" here and cannot make a health check fail or pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from conftest import ensure_user, forget_app, wizard_env
from site_checks import http_get

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

APPS = {"verbsa": ("va.test", 4610), "verbsb": ("vb.test", 4620)}
ANSWERS = """\
[system]
update_packages = true
remove_apache = true
[site]
domains = ["{domain}"]
disable_default_site = true
[app]
name = "{name}"
user = "pi"
directory = "/home/pi/{name}"
source = "sample"
wsgi = "app:app"
workers = {workers}
bind = "127.0.0.1:{port}"
packages = ["flask", "gunicorn"]
[https]
enabled = true
email = "admin@example.com"
agree_tos = true
mode = "certonly"
acme_server = "{server}"
redirect = true
renewal = "auto"
cron_schedule = "30 4 1 * *"
"""


class Machine:
    """The wizard's console script with this module's own state folder."""

    def __init__(self, wizard_bin: str, acme: dict[str, str], folder: Path) -> None:
        self.bin, self.acme, self.folder = wizard_bin, acme, folder
        self.env = wizard_env(acme) | {"PISERVER_WIZARD_STATE_DIR": str(folder / "state")}

    def answers(self, name: str, workers: int = 2, port: int | None = None) -> Path:
        domain, port = APPS[name][0], port or APPS[name][1]
        path = self.folder / f"{name}.toml"
        path.write_text(ANSWERS.format(name=name, domain=domain, port=port, workers=workers,
                                       server=self.acme["ACME_DIRECTORY_URL"]))
        return path

    def wizard(self, *argv: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run([self.bin, *argv], capture_output=True, text=True, env=self.env,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def install(self, name: str, workers: int = 2, port: int | None = None) -> None:
        done = self.wizard("--answers", str(self.answers(name, workers, port)))
        assert done.returncode == 0, done.stdout + done.stderr

    def status(self, *argv: str) -> tuple[int, dict]:
        done = self.wizard("status", "--json", *argv, timeout=300)
        return done.returncode, json.loads(done.stdout)


def main_pid(name: str) -> int:
    out = subprocess.run(["supervisorctl", "pid", name], capture_output=True, text=True, timeout=60).stdout
    return int(out.strip())


def wait_running(name: str) -> None:
    for _ in range(120):
        out = subprocess.run(["supervisorctl", "status", name], capture_output=True, text=True).stdout
        if "RUNNING" in out and http_get(APPS[name][0])[0] == 301:
            return
        time.sleep(0.5)
    pytest.fail(f"{name} did not come back: {out}")


@pytest.fixture(scope="module")
def machine(wizard_bin: str, acme: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ensure_user("pi")
    for name in APPS:
        forget_app(name)
    machine = Machine(wizard_bin, acme, tmp_path_factory.mktemp("verbs"))
    for name in APPS:
        machine.install(name)
    yield machine
    for name in APPS:
        forget_app(name)
    cron = Path("/etc/cron.d/piserver-wizard-status")
    if cron.exists() and str(machine.folder) in cron.read_text():  # the notice of this module's state folder
        cron.unlink()
        Path("/etc/update-motd.d/90-piserver-wizard").unlink(missing_ok=True)


def test_status_names_both_apps_healthy_with_days_left(machine: Machine) -> None:
    code, report = machine.status()
    assert code == 0, json.dumps(report, indent=1)
    assert report["healthy"] is True
    by_name = {app["name"]: app for app in report["apps"]}
    assert sorted(by_name) == sorted(APPS)
    for name, (domain, _port) in APPS.items():
        app = by_name[name]
        assert app["healthy"] and app["state"] == "RUNNING" and app["pid"] == main_pid(name)
        assert [u["url"] for u in app["urls"]] == [f"http://{domain}/", f"https://{domain}/"]
        assert all(u["ok"] for u in app["urls"])
        assert app["certificate"]["names"] == [domain]
        assert 0 < app["certificate"]["days_left"] <= 1826 and app["certificate"]["not_after"].endswith("Z")
        assert app["last_run"]["result"] == "done"
        assert app["renewal"]["in_place"] is True


def test_status_of_one_app_and_its_text_view(machine: Machine) -> None:
    done = machine.wizard("status", "verbsb", timeout=300)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("verbsb: ok") and "verbsa" not in done.stdout
    assert "https://vb.test/" in done.stdout and "days left" in done.stdout
    assert machine.wizard("status", "nosuchapp").returncode == 2


def login_notice() -> str:
    """What cron does every five minutes (its job line, with the file's variables), then what an SSH login
    shows: the output of the motd script."""
    lines = Path("/etc/cron.d/piserver-wizard-status").read_text().splitlines()
    env = dict(os.environ) | dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")
                                  and " " not in line.split("=", 1)[0])
    job = next(line for line in lines if line.startswith("*/5 "))
    subprocess.run(["sh", "-c", job.split(" root ", 1)[1]], env=env, timeout=300, cwd="/")  # exit 1: a problem
    return subprocess.run(["/etc/update-motd.d/90-piserver-wizard"], capture_output=True, text=True,
                          check=True).stdout


def test_a_stopped_app_fails_status_naming_it(machine: Machine) -> None:
    assert login_notice() == ""  # all well: the login shows nothing
    subprocess.run(["supervisorctl", "stop", "verbsa"], check=True, capture_output=True, timeout=60)
    try:
        notice = login_notice()
        assert notice.startswith("piserver-wizard: 1 app(s) need attention: verbsa (supervisor: verbsa is STOPPED")
        assert "verbsb" not in notice and notice.count("\n") == 1  # one line, for the app that is down
        code, report = machine.status()
        by_name = {app["name"]: app for app in report["apps"]}
        assert code == 1 and report["healthy"] is False
        assert by_name["verbsa"]["healthy"] is False and by_name["verbsa"]["state"] == "STOPPED"
        assert any("verbsa is STOPPED" in p for p in by_name["verbsa"]["problems"])
        assert by_name["verbsb"]["healthy"] is True
        assert machine.status("verbsb")[0] == 0
    finally:
        subprocess.run(["supervisorctl", "start", "verbsa"], capture_output=True, timeout=60)
        wait_running("verbsa")
    assert login_notice() == ""


def test_logs_show_a_request_just_made(machine: Machine, acme: dict[str, str]) -> None:
    from site_checks import https_get, pebble_root

    marker = f"/logs-marker-{time.time_ns()}"
    https_get("vb.test", pebble_root(acme, machine.folder / "root.pem"), marker)  # a 404 from Flask
    done = machine.wizard("logs", "verbsb", "-n", "20", timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if marker in line]
    assert [line.split()[0] for line in lines] == ["app", "nginx"], done.stdout  # gunicorn answers first
    assert all(" 404 " in line for line in lines)


def workers(name: str) -> set[int]:
    from wizard.verbs.processes import children

    return children(main_pid(name))


def test_restart_replaces_every_worker_and_answers(machine: Machine) -> None:
    arbiter, before, other = main_pid("verbsa"), workers("verbsa"), main_pid("verbsb")
    done = machine.wizard("restart", "verbsa", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reloaded gracefully" in done.stdout and "ok   https://va.test/" in done.stdout
    after = workers("verbsa")
    assert main_pid("verbsa") == arbiter and after and not after & before
    assert main_pid("verbsb") == other
    assert http_get("va.test")[0] == 301


def test_hard_restart_changes_the_arbiter(machine: Machine) -> None:
    arbiter = main_pid("verbsa")
    done = machine.wizard("restart", "verbsa", "--hard", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert main_pid("verbsa") != arbiter and "ok   https://va.test/" in done.stdout


WRK_SCRIPT = """\
-- Connect to 127.0.0.1 whatever the URL's name: wrk still sends that name as SNI and as Host, so nginx
-- picks the site's server block (its catch-all refuses a TLS handshake without a name).
wrk.resolve = function(host, service) wrk.addrs = wrk.lookup("127.0.0.1", service) end
-- Every response counted by its status (wrk's own counter lets 3xx pass), summed over the threads.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, bad = 0, 0 end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("responses: 2xx %d, non-2xx %d\\n", o, b))
end
"""


class Load:
    """wrk holding 8 connections to the site through nginx (HTTPS on 127.0.0.1:443, the domain as SNI and
    Host: where the issue's 502s were seen), stopped with SIGINT when the action is over, when it prints
    its totals. Bounded: 300 s at most, loopback only."""

    def __init__(self, domain: str, folder: Path) -> None:
        import shutil

        if not shutil.which("wrk"):
            pytest.fail("wrk is not installed (apt-get install wrk): scripts/test installs it")
        script = folder / "count.lua"
        script.write_text(WRK_SCRIPT)
        self.proc = subprocess.Popen(["wrk", "-t2", "-c8", "-d300s", "--timeout", "30s", "-s", str(script),
                                      f"https://{domain}:443/"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def warm(self, name: str) -> None:
        """Return once wrk's requests reach the app (its access log grows): the action starts under load."""
        log = Path(f"/var/log/{name}/{name}.out.log")  # gunicorn's access log
        start = log.stat().st_size
        for _ in range(100):
            if log.stat().st_size > start + 2000:
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"wrk's requests did not reach {name} within 10 s")

    def stop(self) -> tuple[int, int, str]:
        """(responses, failed: non-2xx responses plus socket errors, wrk's report)."""
        import re
        import signal

        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        counted = re.search(r"responses: 2xx (\d+), non-2xx (\d+)", out)
        assert counted, out
        good, bad = int(counted.group(1)), int(counted.group(2))
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        return good + bad, bad + (sum(int(n) for n in errors.groups()) if errors else 0), out


def under_load(machine: Machine, name: str, action: Callable[[], object], what: str) -> tuple[int, int, str]:
    """Run ``action`` while wrk loads the site; print the counts (they are the figure this test gives)."""
    load = Load(APPS[name][0], machine.folder)
    load.warm(name)
    try:
        action()
    finally:
        requests, failed, report = load.stop()
    print(f"\n{what} under wrk (8 connections, HTTPS through nginx): {requests} responses, {failed} failed "
          f"(non-2xx or socket errors)\n{report}")
    return requests, failed, report


def test_restart_under_load_drops_no_request(machine: Machine) -> None:
    done: list[subprocess.CompletedProcess] = []
    requests, failed, report = under_load(machine, "verbsa", lambda: done.append(
        machine.wizard("restart", "verbsa", timeout=300)), "restart verbsa")
    assert done[0].returncode == 0, done[0].stdout
    assert requests > 0 and failed == 0, report


def test_a_hard_restart_under_load_is_seen_failing(machine: Machine) -> None:
    """The counting can fail: supervisor's stop-then-start (what a re-run did before) refuses connections
    while the program is down, and nginx answers 502."""
    requests, failed, report = under_load(machine, "verbsa", lambda: machine.wizard(
        "restart", "verbsa", "--hard", timeout=300), "restart --hard verbsa")
    assert requests > 0 and failed > 0, report
    wait_running("verbsa")


def test_rerun_changing_workers_under_load_drops_no_request(machine: Machine) -> None:
    machine.install("verbsa", workers=3)
    arbiter, before = main_pid("verbsa"), workers("verbsa")
    assert len(before) == 3
    requests, failed, report = under_load(machine, "verbsa", lambda: machine.install("verbsa", workers=2),
                                          "re-run changing workers 3 -> 2")
    assert requests > 0 and failed == 0, report
    assert main_pid("verbsa") == arbiter and len(workers("verbsa")) == 2 and not workers("verbsa") & before
    assert "\nworkers = 2\n" in Path("/etc/piserver-wizard/verbsa/gunicorn.conf.py").read_text()


def test_a_rerun_moving_the_bind_and_the_workers_restarts_the_program(machine: Machine) -> None:
    """Both steps change: the reload is skipped (the old arbiter would never answer on the new bind, the
    run would wait for it in vain), and supervisor restarts the program with the new bind and workers."""
    from wizard.verbs.processes import option

    arbiter = main_pid("verbsb")
    machine.install("verbsb", workers=3, port=4621)
    assert main_pid("verbsb") != arbiter and option(main_pid("verbsb"), "--bind") == "127.0.0.1:4621"
    assert len(workers("verbsb")) == 3
    assert machine.status("verbsb")[0] == 0
    machine.install("verbsb")  # back to the module's answers
    assert option(main_pid("verbsb"), "--bind") == "127.0.0.1:4620"


def doctor(machine: Machine, *argv: str) -> tuple[int, list[dict]]:
    done = machine.wizard("doctor", "--json", *argv, timeout=900)
    return done.returncode, json.loads(done.stdout)["findings"]


def problems(findings: list[dict]) -> set[tuple[str, str]]:
    return {(f["app"], f["code"]) for f in findings if f["level"] in ("warn", "error")}


def test_doctor_on_healthy_apps_finds_only_the_machines_clock(machine: Machine) -> None:
    code, findings = doctor(machine)  # the renewal test included: certbot against pebble
    assert problems(findings) <= {("", "clock")}, findings  # this VM's clock may not be NTP-synchronised
    assert code == (1 if problems(findings) else 0)
    assert {("verbsa", "renew-dry-run"), ("verbsb", "program"), ("", "nginx")} <= {
        (f["app"], f["code"]) for f in findings if f["level"] == "ok"}


def test_doctor_finds_a_broken_nginx_config(machine: Machine) -> None:
    broken = Path("/etc/nginx/conf.d/zz-verbs-doctor.conf")
    broken.write_text("server { listen 80; bogus_directive on; }\n")
    try:
        code, findings = doctor(machine, "verbsb", "--skip-renewal-test")
    finally:
        broken.unlink()
    nginx = next(f for f in findings if f["code"] == "nginx")
    assert code == 1 and nginx["level"] == "error" and "bogus_directive" in nginx["message"] and nginx["fix"]


def test_doctor_finds_a_crash_loop(machine: Machine) -> None:
    app_py = Path("/home/pi/verbsa/app.py")
    original = app_py.read_bytes()
    subprocess.run(["runuser", "-u", "pi", "--", "sh", "-c", f"echo 'raise SystemExit(3)' >> {app_py}"], check=True)
    try:
        subprocess.run(["supervisorctl", "restart", "verbsa"], capture_output=True, timeout=120)
        for _ in range(60):  # supervisor gives up after its start retries: FATAL
            if "FATAL" in subprocess.run(["supervisorctl", "status", "verbsa"], capture_output=True, text=True).stdout:
                break
            time.sleep(1)
        code, findings = doctor(machine, "verbsa", "--skip-renewal-test")
        loop = next(f for f in findings if f["code"] == "restart-loop")
        assert code == 1 and loop["level"] == "error" and "logs verbsa" in loop["fix"]
    finally:
        subprocess.run(["runuser", "-u", "pi", "--", "tee", str(app_py)], input=original, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["supervisorctl", "start", "verbsa"], capture_output=True, timeout=120)
        wait_running("verbsa")


def test_doctor_finds_a_missing_renewal_job_and_an_edited_file(machine: Machine) -> None:
    cron = Path("/etc/cron.d/piserver-wizard-certbot")
    conf = Path("/etc/piserver-wizard/verbsb/gunicorn.conf.py")
    original = conf.read_bytes()
    aside = cron.with_name("piserver-wizard-certbot.aside") if cron.exists() else None
    if aside:
        cron.rename(aside)
    else:
        subprocess.run(["systemctl", "stop", "certbot.timer"], check=True)
    conf.write_bytes(original + b"# tuned by hand\n")
    try:
        code, findings = doctor(machine, "verbsb", "--skip-renewal-test")
    finally:
        conf.write_bytes(original)
        if aside:
            aside.rename(cron)
        else:
            subprocess.run(["systemctl", "start", "certbot.timer"], check=True)
    assert code == 1
    assert {("verbsb", "renewal"), ("verbsb", "edited")} <= problems(findings)
    assert any(str(conf) in f["message"] for f in findings if f["code"] == "edited" and f["app"] == "verbsb")
    assert ("verbsb", "edited") not in problems(doctor(machine, "verbsb", "--skip-renewal-test")[1])


def nginx_test_ok() -> bool:
    return subprocess.run(["nginx", "-t"], capture_output=True, timeout=60).returncode == 0


def traces_of(name: str) -> list[str]:
    """Every place an install of ``name`` leaves a mark that remove must take away."""
    found = [p for p in (f"/etc/nginx/sites-enabled/{name}", f"/etc/nginx/sites-available/{name}",
                         f"/etc/supervisor/conf.d/{name}.conf", f"/etc/piserver-wizard/{name}",
                         f"/etc/tmpfiles.d/piserver-wizard-{name}.conf", f"/etc/letsencrypt/live/{name}",
                         f"/etc/letsencrypt/renewal/{name}.conf", f"/home/pi/{name}")
             if os.path.lexists(p)]
    grep = subprocess.run(["grep", "-rl", f"/{name}", "/etc/nginx", "/etc/supervisor"], capture_output=True,
                          text=True).stdout.split()
    supervisor = subprocess.run(["supervisorctl", "status", name], capture_output=True, text=True).stdout
    certificates = subprocess.run(["certbot", "certificates", "--cert-name", name], capture_output=True,
                                  text=True, timeout=120).stdout
    return (found + grep + (["supervisor"] if "no such process" not in supervisor else [])
            + (["certbot"] if f"Certificate Name: {name}" in certificates else []))


def test_remove_dry_run_changes_nothing(machine: Machine) -> None:
    from site_checks import tree_fingerprint

    watched = ["/etc/nginx", "/etc/supervisor", "/etc/piserver-wizard", "/etc/cron.d", "/home/pi/verbsa",
               str(machine.folder / "state")]
    before = tree_fingerprint(*watched)
    done = machine.wizard("remove", "verbsa", "--dry-run", "--delete-certificate", "--delete-app-files")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rm /etc/nginx/sites-enabled/verbsa" in done.stdout and "certbot delete -n --cert-name verbsa" in done.stdout
    assert "Remove the renewal" not in done.stdout  # verbsb still needs the renewal job
    assert tree_fingerprint(*watched) == before


def test_remove_rolls_nginx_back_when_nginx_t_fails(machine: Machine) -> None:
    broken = Path("/etc/nginx/conf.d/zz-verbs-test-broken.conf")
    site = Path("/etc/nginx/sites-available/verbsa").read_text()
    broken.write_text("this is not nginx syntax;\n")
    try:
        done = machine.wizard("remove", "verbsa")
        assert done.returncode == 1, done.stdout
        assert "the previous files were put back" in done.stdout
        assert Path("/etc/nginx/sites-available/verbsa").read_text() == site
        assert os.readlink("/etc/nginx/sites-enabled/verbsa") == "/etc/nginx/sites-available/verbsa"
    finally:
        broken.unlink()
    assert nginx_test_ok()
    machine.install("verbsa")  # the program step had run: the same answers put it back
    assert machine.status("verbsa")[0] == 0


def test_remove_one_app_leaves_the_other_serving(machine: Machine) -> None:
    canary = Path("/etc/verbs-canary")
    canary.write_text("root's file\n")
    Path("/home/pi/verbsa/planted").symlink_to(canary)  # the untrusted app user's link to a root file
    kept = (main_pid("verbsb"), workers("verbsb"))
    done = machine.wizard("remove", "verbsa", "--delete-certificate", "--delete-app-files")
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert canary.read_text() == "root's file\n"
    finally:
        canary.unlink()
    assert (main_pid("verbsb"), workers("verbsb")) == kept
    assert nginx_test_ok() and http_get("vb.test")[0] == 301
    assert traces_of("verbsa") == []
    assert Path("/etc/cron.d/piserver-wizard-certbot").exists() or Path("/run/systemd/system").is_dir()
    state = json.loads((machine.folder / "state" / "state.json").read_text())
    assert not [k for k in state["steps"] if k.startswith("verbsa/")]
    code, report = machine.status()
    assert code == 0 and [a["name"] for a in report["apps"]] == ["verbsb"]


def test_the_same_answers_bring_it_back(machine: Machine) -> None:
    machine.install("verbsa")
    code, report = machine.status()
    assert code == 0 and sorted(a["name"] for a in report["apps"]) == sorted(APPS)
    assert http_get("va.test")[0] == 301


def test_removing_the_last_app_takes_the_login_notice_away(machine: Machine) -> None:
    notice = [Path("/etc/update-motd.d/90-piserver-wizard"), Path("/etc/cron.d/piserver-wizard-status"),
              machine.folder / "state" / "notice"]
    assert all(path.exists() for path in notice)
    first = machine.wizard("remove", "verbsa")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "login notice" not in first.stdout and all(path.exists() for path in notice)  # verbsb needs it
    last = machine.wizard("remove", "verbsb")
    assert last.returncode == 0, last.stdout + last.stderr
    assert "Remove the login notice (this was the last app)" in last.stdout
    assert [path for path in notice if os.path.lexists(path)] == []
    assert nginx_test_ok()
    code, report = machine.status()
    assert code == 0 and report["apps"] == []
    machine.install("verbsb")  # an app again: the notice with it, saying nothing while all is well
    assert all(path.exists() for path in notice) and login_notice() == ""
