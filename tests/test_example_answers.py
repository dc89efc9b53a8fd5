"""The example answers file ships in the wheel and the installed wizard prints it, without Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "answers.toml"


def test_the_wheel_carries_the_example() -> None:
    from wizard.example import example_path

    path = Path(example_path())
    assert "site-packages" in str(path), f"the example comes from {path}, not the installed wheel"
    assert path.read_bytes() == EXAMPLE.read_bytes()


def test_example_answers_prints_the_file(wizard_bin: str) -> None:
    done = subprocess.run([wizard_bin, "--example-answers"], capture_output=True, cwd="/", check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == EXAMPLE.read_bytes()
    assert done.stderr == b""


def test_example_answers_does_not_import_textual() -> None:
    code = ("import sys\nfrom wizard.cli import main\ncode = main(['--example-answers'])\nsys.stdout.flush()\n"
            "print('EXIT', code, 'TEXTUAL-LOADED' if 'textual' in sys.modules else 'TEXTUAL-ABSENT')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/").stdout
    assert out.strip().endswith("EXIT 0 TEXTUAL-ABSENT"), out[-200:]


def test_the_printed_example_passes_check(wizard_bin: str, tmp_path: Path) -> None:
    """What a user gets from `--example-answers > answers.toml` is a file `--check` accepts as it is."""
    path = tmp_path / "answers.toml"
    path.write_bytes(subprocess.run([wizard_bin, "--example-answers"], capture_output=True, check=True).stdout)
    done = subprocess.run([wizard_bin, "--answers", str(path), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
