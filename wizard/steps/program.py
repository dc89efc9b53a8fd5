"""The app under supervisor: gunicorn's settings, the supervisor program, the socket folder if any."""

from __future__ import annotations

from typing import Callable

from .. import verify
from ..commands import Command
from ..files import AppFolder, PlannedFile
from ..plan import Ensure, Probe, Step
from ..render import render
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


def keep_running(name: str, gunicorn_conf: str) -> list[Ensure]:
    """A program supervisor does not know (a run killed before `update`, or `supervisorctl remove`),
    one stopped (by hand, or by a run that died), one FATAL or backing off after its cause was fixed:
    each is put right, where waiting for RUNNING would only time out. And one running a gunicorn.conf
    older than the file (`update` restarts only for a changed program section): restarted."""
    reread, update = Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update")
    restart = Command.of("supervisorctl", "restart", name)
    return [
        Ensure(f"supervisor does not know {name}", _state_in(name, "UNKNOWN"), [reread, update]),
        Ensure(f"{name} is not running", _state_in(name, "STOPPED", "EXITED", "FATAL"),
               [Command.of("supervisorctl", "start", name)]),
        Ensure(f"{name} is backing off", _state_in(name, "BACKOFF"), [restart]),
        Ensure(f"{name} runs the settings of before {gunicorn_conf} changed",
               lambda: verify.started_before_written(name, gunicorn_conf), [restart]),
    ]


def program(ctx: Context, import_inputs: dict) -> list[Step]:
    """``import_inputs``: what the app is made of; a change there restarts the program."""
    app, layout = ctx.answers.app, ctx.layout
    files = program_files(ctx)
    folders = [AppFolder(layout.socket_dir, app.user, group="www-data", mode=0o2770)] if layout.socket_dir else []
    return [Step(
        "app-program", f"Run {app.name} under supervisor (gunicorn -w {app.workers} -b {app.bind})",
        folders=folders, files=files,
        on_change=[Command.of("supervisorctl", "reread"), Command.of("supervisorctl", "update")],
        on_rerun=[Command.of("supervisorctl", "restart", app.name)],
        ensure=keep_running(app.name, layout.gunicorn_conf),
        probes=[Probe(f"supervisor says {app.name} is RUNNING and it answers on {app.bind}",
                      lambda: verify.wait_serving(app.name, app.bind, layout.error_log))],
        # What needs a restart without changing the supervisor program (that one restarts on update).
        inputs={"app": import_inputs, "gunicorn": files[0].content},
        remember_inputs=True,
        # RUNNING alone is not done: a crash loop slower than startsecs (a Pi Zero, a busy machine) shows
        # RUNNING between its restarts; the step then waits for the app to answer.
        is_done=lambda: verify.supervisor_state(app.name) == "RUNNING" and verify.app_answers(app.bind) is not None)]
