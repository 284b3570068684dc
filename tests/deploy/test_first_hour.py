"""A machine without uv: `make setup` installs it under .local/tools/bin and says the one
line that puts it on the PATH; that line, as the README gives it, makes `uv run …` work.

Run on a copy of the Makefile with a stand-in uv (no network, no real install)."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploylib import ROOT

BARE_PATH = "/usr/bin:/bin"
FAKE_UV = '#!/bin/sh\necho "uv $*" >> "$(dirname "$0")/calls"\necho "uv 0.0.0 (stand-in)"\n'
pytestmark = pytest.mark.skipif(
    shutil.which("make", path=BARE_PATH) is None or shutil.which("uv", path=BARE_PATH),
    reason="needs make, and no uv, in /usr/bin:/bin",
)


def _checkout_without_uv_on_path(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    tools = tmp_path / ".local" / "tools" / "bin"
    tools.mkdir(parents=True)
    uv = tools / "uv"
    uv.write_text(FAKE_UV)
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def _readme_path_line() -> str:
    readme = (ROOT / "README.md").read_text()
    (line,) = set(re.findall(r"^export PATH=\"\$PWD/\.local/tools/bin:\$PATH\"", readme, re.M))
    return line


def test_setup_says_the_path_line_when_uv_is_only_under_local_tools(tmp_path):
    checkout = _checkout_without_uv_on_path(tmp_path)
    done = subprocess.run(
        ["make", "-s", "setup"], cwd=checkout, env={"PATH": BARE_PATH, "HOME": str(tmp_path)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert 'export PATH="$PWD/.local/tools/bin:$PATH"' in done.stdout
    calls = (checkout / ".local" / "tools" / "bin" / "calls").read_text()
    assert "uv sync --locked" in calls  # make used the local uv


def test_the_readme_line_puts_that_uv_on_the_path(tmp_path):
    checkout = _checkout_without_uv_on_path(tmp_path)
    script = f"{_readme_path_line()}\nuv --version\n"
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=checkout, env={"PATH": BARE_PATH},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "stand-in" in done.stdout
    without = subprocess.run(
        ["bash", "-c", "uv --version"], cwd=checkout, env={"PATH": BARE_PATH},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert without.returncode == 127  # what a new user saw before: command not found
