"""The app's own folder, its files, its venv and packages, and a check that its WSGI callable imports.

Everything inside the app folder belongs to the app user, whom root does not trust: the folder is made
with directory descriptors, the files are written by a helper running as that user, the commands run as
that user (see ``wizard.boundary``).
"""

from __future__ import annotations

from ..commands import Command
from ..files import AppFolder, PlannedFile, sha256
from ..plan import Step
from ..render import render
from .context import Context, done_when_inputs_unchanged

# Run as the app user in the app folder. What it prints is what the owner reads when the step fails, so it
# says what is wrong in words (a missing package, a mistake at a line), not a Python exception's class name.
_IMPORT_CHECK = (
    "import importlib, sys, traceback\n"
    "sys.path.insert(0, '.')\n"
    "module, name = sys.argv[1], sys.argv[2].rstrip('()')\n"
    "try:\n"
    "    getattr(importlib.import_module(module), name)\n"
    "except ModuleNotFoundError as error:\n"
    "    if error.name == module.split('.')[0]:\n"
    "        print(f'Error: there is no {module.replace(\".\", \"/\")}.py in the app folder (wsgi = \"{sys.argv[1]}:{sys.argv[2]}\")')\n"
    "    else:\n"
    "        print(f'Error: the app needs the Python package {error.name!r}, which is not installed: '\n"
    "              'add it to requirements.txt (or app.packages) and run the wizard again')\n"
    "    sys.exit(1)\n"
    "except SyntaxError as error:\n"
    "    print(f'Error: a mistake in the Python code of {error.filename}, line {error.lineno}: {error.msg}')\n"
    "    sys.exit(1)\n"
    "except AttributeError:\n"
    "    print(f'Error: {module} has nothing called {name}: wsgi must name the Flask object in it '\n"
    "          '(app:app is the object app in app.py)')\n"
    "    sys.exit(1)\n"
    "except Exception as error:\n"
    "    where = traceback.extract_tb(error.__traceback__)[-1]\n"
    "    print(f'Error: {module} fails while it loads: {error} ({where.filename}, line {where.lineno})')\n"
    "    sys.exit(1)\n")


def user(ctx: Context) -> list[Step]:
    """A dedicated app user, when asked: a system user with its own group, no login shell, no sudo."""
    app = ctx.answers.app
    if not app.create_user:
        return []
    from .. import boundary

    return [Step("app-user", f"Create the user {app.user} that runs the app (no login, no sudo)",
                 commands=[Command.of("useradd", "--system", "--user-group", "--shell", "/usr/sbin/nologin",
                                      "--home-dir", app.directory, "--no-create-home", app.user)],
                 is_done=lambda: boundary.uid_of(app.user) >= 0)]


def folders(ctx: Context) -> list[Step]:
    app, layout = ctx.answers.app, ctx.layout
    folder = AppFolder(app.directory, app.user)
    system = [AppFolder(layout.log_dir, None, mode=0o750, group="adm"), AppFolder(layout.config_dir, None)]
    return [*user(ctx), Step("app-folder", f"Create {app.directory} for {app.user}", folders=[folder, *system])]


def app_files(ctx: Context) -> list[PlannedFile]:
    app, layout = ctx.answers.app, ctx.layout
    files = [PlannedFile(layout.secret_file, "", mode=0o600, owner=app.user, secret=True, keep_existing=True,
                         within=app.directory)]
    if app.source == "sample":
        for path, text in ((f"{app.directory}/app.py", render("app.py.j2", app=app)),
                           (f"{layout.static_dir}/style.css", render("style.css.j2"))):
            files.append(PlannedFile(path, text, owner=app.user, within=app.directory, owners_own=True,
                                     recorded=ctx.state_files.get(path)))
    return files


def files(ctx: Context) -> list[Step]:
    sample = ctx.answers.app.source == "sample"
    return [Step("app-files", "Write the app's files" if sample else "Write the app's secret key",
                 files=app_files(ctx))]


def venv(ctx: Context) -> list[Step]:
    app, layout = ctx.answers.app, ctx.layout
    from .. import boundary

    return [Step(
        "venv", f"Create the virtualenv {layout.venv}",
        commands=[Command.of("/usr/bin/python3", "-m", "venv", layout.venv, as_user=app.user,
                             env={"HOME": ctx.app_facts.home})],
        is_done=lambda: boundary.owned_file(f"{layout.venv}/pyvenv.cfg", app.user))]


def pip_step(ctx: Context) -> Step:
    app, layout = ctx.answers.app, ctx.layout
    from .. import boundary

    pip_args = ["install", "--no-input", *app.packages]
    if ctx.app_facts.requirements_hash:
        pip_args += ["-r", layout.requirements]
    return Step(
        "pip", "Install the Python packages into the venv",
        commands=[Command.of(f"{layout.venv}/bin/pip", *pip_args, as_user=app.user,
                             env={"HOME": ctx.app_facts.home}, timeout=1800, needs=("ca-bundle", "pip"))],
        inputs={"packages": app.packages, "requirements": ctx.app_facts.requirements_hash, "venv": layout.venv},
        remember_inputs=True,
        is_done=lambda: boundary.owned_file(f"{layout.venv}/bin/gunicorn", app.user))


def owners_page(ctx: Context) -> dict[str, str]:
    """The owner's own app.py, once it is no longer the sample the wizard writes: its hash joins the
    import check's inputs, so an edit is checked and the app restarted by the next run (which then serves
    what the file says). Nothing while it is the sample: a same-answers re-run stays a no-op."""
    page = ctx.app_facts.page_hash
    if ctx.answers.app.source != "sample" or not page:
        return {}
    return {} if page == sha256(render("app.py.j2", app=ctx.answers.app).encode()) else {"owners_page": page}


def import_step(ctx: Context, pip: Step) -> Step:
    app, layout = ctx.answers.app, ctx.layout
    module, _, attr = app.wsgi.partition(":")
    return Step(
        "app-import", f"Check that {app.wsgi} imports",
        commands=[Command.of(layout.venv_python, "-c", _IMPORT_CHECK, module, attr, as_user=app.user,
                             env={"HOME": ctx.app_facts.home}, cwd=app.directory, timeout=120)],
        inputs={"wsgi": app.wsgi, "files": [f.content for f in app_files(ctx) if not f.secret],
                "pip": pip.fingerprint, **owners_page(ctx)}, remember_inputs=True, is_done=done_when_inputs_unchanged)


def packages_and_import(ctx: Context) -> list[Step]:
    pip = pip_step(ctx)
    return [*venv(ctx), pip, import_step(ctx, pip)]
