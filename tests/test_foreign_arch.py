"""The wheel and its dependencies install with pip on armhf and arm64 Debian with no compiler in it.

Each architecture runs under qemu-user (binfmt_misc) in a cached minbase root. pip gets PyPI only (not
piwheels, which Raspberry Pi OS adds): where a package has no wheel for the board it must build from
its sdist without a compiler, which is the hard case. The install time is printed (emulated, so slower
than a real board's CPU but with this machine's disk and network).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from foreign_arch import MACHINE, binfmt_problem, build_root, run_in

from conftest import REPO

pytestmark = [pytest.mark.slow]

SCRIPT = r"""
set -e
echo "MACHINE $(uname -m)"
for cc in cc gcc clang; do if command -v $cc >/dev/null; then echo "COMPILER $cc"; fi; done
python3 --version
python3 -m venv /opt/piserver-wizard
start=$(date +%s.%N)
/opt/piserver-wizard/bin/pip install -q --no-input --report /tmp/report.json /wheel/$WHEEL
end=$(date +%s.%N)
echo "PIP_SECONDS $(python3 -c "print(round($end - $start, 1))")"
python3 -c '
import json
for item in json.load(open("/tmp/report.json"))["install"]:
    print("INSTALLED", item["metadata"]["name"], item["download_info"]["url"].rsplit("/", 1)[-1])
'
/opt/piserver-wizard/bin/python -c 'import markupsafe; print("MARKUPSAFE", markupsafe.escape.__module__)'
/opt/piserver-wizard/bin/piserver-wizard --version
useradd --create-home pi
PISERVER_WIZARD_OFFLINE=1 /opt/piserver-wizard/bin/piserver-wizard --answers /wheel/answers.toml --dry-run
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["python3", "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, timeout=600)
    (out / "answers.toml").write_text((REPO / "examples" / "answers.toml").read_text())
    return next(out.glob("piserver_wizard-*.whl"))


@pytest.mark.parametrize("arch", ["armhf", "arm64"])
def test_installs_and_runs_without_a_compiler(as_root: None, wheel: Path, arch: str) -> None:
    problem = binfmt_problem(arch)
    if problem:
        pytest.skip(f"{arch} binaries cannot run here: {problem}")
    root = build_root(arch)
    done = run_in(root, ["sh", "-c", SCRIPT], binds=((wheel.parent, "/wheel"),), env={"WHEEL": wheel.name})
    out = done.stdout
    print(f"\n--- {arch} ---\n{out}\n{done.stderr[-3000:]}")
    assert done.returncode == 0, out + done.stderr
    assert f"MACHINE {MACHINE[arch]}" in out
    assert "COMPILER" not in out  # the point: nothing here could build a C extension
    installed = dict(re.findall(r"^INSTALLED (\S+) (\S+)$", out, re.M))
    assert "textual" in installed and "Jinja2".lower() in {k.lower() for k in installed}
    seconds = float(re.search(r"^PIP_SECONDS (\S+)$", out, re.M).group(1))
    sdists = sorted(name for name, file in installed.items() if not file.endswith(".whl"))
    print(f"{arch}: pip install of the wheel and {len(installed) - 1} dependencies took {seconds} s "
          f"(emulated); built from sdist without a compiler: {', '.join(sdists) or 'none'}")
    assert re.search(r"^piserver-wizard \S+$", out, re.M)
    assert "Dry run on" in out and "nothing will be changed" in out
