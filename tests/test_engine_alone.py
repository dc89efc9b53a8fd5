"""The engine stands alone: importing it, --version, --help and --answers never load Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd="/").stdout
    return set(out.split())


def test_importing_the_engine_does_not_import_textual() -> None:
    loaded = modules_after("import wizard, wizard.engine, wizard.plan, wizard.cli, wizard.headless, wizard.session")
    assert "textual" not in loaded
    assert "screens" not in loaded


@pytest.mark.parametrize("argv", [["--version"], ["--help"],
                                  ["--answers", str(REPO / "examples" / "answers.toml"), "--check"]])
def test_cli_paths_without_the_tui_do_not_import_textual(argv: list[str]) -> None:
    code = ("import sys\nfrom wizard.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "sys.stdout.flush()\nprint('TEXTUAL-LOADED' if 'textual' in sys.modules else 'TEXTUAL-ABSENT')" % argv)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/").stdout
    assert out.strip().endswith("TEXTUAL-ABSENT")


VERBS = ["status", "doctor", "logs", "restart", "remove"]


@pytest.mark.parametrize("verb", VERBS)
def test_verbs_do_not_import_textual(verb: str, tmp_path: Path) -> None:
    """Each verb, its --help and a real run on an empty state folder, stays free of Textual."""
    for argv in ([verb, "--help"], [verb] + ([] if verb in ("status", "doctor") else ["nope"])):
        code = ("import sys\nfrom wizard.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
                "sys.stdout.flush()\nprint('TEXTUAL-LOADED' if 'textual' in sys.modules else 'TEXTUAL-ABSENT')"
                % argv)
        env = {"PATH": "/usr/bin:/bin", "PISERVER_WIZARD_STATE_DIR": str(tmp_path),
               "PISERVER_WIZARD_OFFLINE": "1"}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env).stdout
        assert out.strip().endswith("TEXTUAL-ABSENT"), (argv, out)
    modules = modules_after(f"import wizard.verbs.{verb}")
    assert "textual" not in modules and "screens" not in modules


def test_the_wheel_carries_the_templates() -> None:
    import wizard.render

    folder = wizard.render.templates_dir()
    assert "site-packages" in str(folder), f"templates come from {folder}, not the installed wheel"
    assert (folder / "nginx-site.conf.j2").is_file()


def test_version_of_the_console_script(wizard_bin: str) -> None:
    out = subprocess.run([wizard_bin, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("piserver-wizard ")


def test_check_loads_only_what_validation_needs() -> None:
    """--check must start about as fast as the interpreter: no typing (tomllib's import of it cost a third of
    the budget), no dataclasses, pathlib or socket, none of the engine's libraries. Modules, not seconds:
    the timings themselves live in bench/run.py."""
    code = ("import sys\nfrom wizard.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print('LOADED', ' '.join(sorted(sys.modules)))"
            % (["--answers", str(REPO / "examples" / "answers.toml"), "--check"],))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/").stdout
    loaded = set(out.split("LOADED", 1)[1].split())
    heavy = {"typing", "dataclasses", "pathlib", "socket", "subprocess", "string", "tomllib", "tomlkit", "jinja2",
             "pexpect", "textual", "wizard.answers", "wizard.engine"}
    assert "tomli" in loaded and not heavy & loaded, sorted(heavy & loaded)
