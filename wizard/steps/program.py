"""The app under supervisor: gunicorn's settings, the supervisor program, the socket folder if any."""

from __future__ import annotations

import sys
from typing import Callable

from .. import verify
from ..commands import Command
from ..files import AppFolder, PlannedFile
from ..plan import Ensure, Probe, Step
from ..render import render
from ..state import state_dir
from .context import Context


def program_files(ctx: Context) -> list[PlannedFile]:
    app, layout = ctx.answers.app, ctx.layout
    files = [
        PlannedFile(layout.gunicorn_conf, render("gunicorn.conf.py.j2", app=app, secret_file=layout.secret_file,
                                                 socket_dir=layout.socket_dir)),
        PlannedFile(layout.supervisor_conf, render("supervisor-program.conf.j2", app=app, home=ctx.app_facts.home,
                                                   gunicorn_conf=layout.gunicorn_conf)),
    ]
    if layout.socket_dir:
        files.append(PlannedFile(layout.tmpfiles_conf, render("tmpfiles.conf.j2", app=app,
                                                              socket_dir=layout.socket_dir)))
    return files


def _state_in(program_name: str, *states: str) -> Callable[[], bool]:
    return lambda: verify.supervisor_state(program_name) in states


def keep_running(name: str) -> list[Ensure]:
    """A program supervisor does not know (a run killed before `update`, or `supervisorctl remove`),
    one stopped (by hand, or by a run that died), one FATAL or backing off after its cause was fixed:
    each is put right, where waiting for RUNNING would only time out. (Settings of before, in a program
    that runs, are the app-settings step's: a graceful reload, see settings_in_effect.)"""
    reread, update = Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update")
    restart = Command.of("supervisorctl", "restart", name)
    return [
        Ensure(f"supervisor does not know {name}", _state_in(name, "UNKNOWN"), [reread, update]),
        Ensure(f"{name} is not running", _state_in(name, "STOPPED", "EXITED", "FATAL"),
               [Command.of("supervisorctl", "start", name)]),
        Ensure(f"{name} is backing off", _state_in(name, "BACKOFF"), [restart]),
    ]


def settings_in_effect(name: str, gunicorn_conf: str, reload: Command) -> Ensure:
    """The effect checked, not the file (a run may die between the write and its reload): workers older
    than gunicorn.conf run the settings of before, and a graceful reload puts new ones in place. The
    workers, not the arbiter: a reload keeps the arbiter and replaces every worker."""
    return Ensure(f"{name} runs the settings of before {gunicorn_conf} changed",
                  lambda: verify.workers_started_before_written(name, gunicorn_conf), [reload])


def graceful_reload(name: str) -> Command:
    """The restart verb, run by the wizard's own interpreter: HUP to gunicorn's arbiter, then wait until the
    old workers have finished and left and the new ones answer. Nothing happens to a program not running
    (the first install: supervisor starts it in the next step)."""
    # -I: never a `wizard` folder from the current directory; the state folder is named (commands get a
    # clean environment) so the verb finds the app this run is about.
    return Command.of(sys.executable, "-I", "-m", "wizard", "restart", name, "--if-running",
                      env={"PISERVER_WIZARD_STATE_DIR": str(state_dir())}, timeout=120)


def program(ctx: Context, import_inputs: dict) -> list[Step]:
    """Two steps, because they apply differently. gunicorn's settings (workers) and the app itself (its files,
    its packages: ``import_inputs``) reload gracefully, dropping no request. The supervisor program (bind,
    user, folder, venv) is supervisor's to apply, by a full restart (``supervisorctl update``); so is a new
    gunicorn version, which a reload does not pick up (`piserver-wizard restart --hard` does)."""
    app, layout = ctx.answers.app, ctx.layout
    gunicorn, supervisor, *tmpfiles = program_files(ctx)
    folders = [AppFolder(layout.socket_dir, app.user, group="www-data", mode=0o2770)] if layout.socket_dir else []
    reload = graceful_reload(app.name)
    settings = Step(
        "app-settings", f"Configure gunicorn for {app.name} ({app.workers} workers): this, the app's files or "
        "packages changed reload it gracefully (no request dropped)",
        folders=folders, files=[gunicorn, *tmpfiles], on_change=[reload], on_rerun=[reload],
        ensure=[settings_in_effect(app.name, layout.gunicorn_conf, reload)],
        inputs={"app": import_inputs, "gunicorn": gunicorn.content}, remember_inputs=True)
    running = Step(
        "app-program", f"Run {app.name} under supervisor (gunicorn -b {app.bind}): a changed bind, user, "
        "folder or venv needs a full restart (requests dropped meanwhile)",
        files=[supervisor],
        on_change=[Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update", app.name)],
        ensure=keep_running(app.name),
        probes=[Probe(f"supervisor says {app.name} is RUNNING and it answers on {app.bind}",
                      lambda: verify.wait_serving(app.name, app.bind, layout.error_log))],
        # RUNNING alone is not done: a crash loop slower than startsecs (a Pi Zero, a busy machine) shows
        # RUNNING between its restarts; the step then waits for the app to answer.
        is_done=lambda: verify.supervisor_state(app.name) == "RUNNING" and verify.app_answers(app.bind) is not None)
    return [settings, running]
