"""The README's runnable blocks (```sh), run verbatim in bash against the local stack.

Only the addresses change: 127.0.0.1:8000/8001 become the ports this stack listens on.
``uv run producer …`` gets the stack's own environment (its database), which is what a
second terminal next to ``make run`` has by default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def readme_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def test_the_readme_has_runnable_blocks():
    blocks = readme_blocks()
    assert len(blocks) >= 2
    assert any("uv run producer create_client" in b and "$ID" in b for b in blocks)
    for block in blocks:  # every variable a block uses is set in it, or is the PATH
        used = set(re.findall(r"\$\{?([A-Z_]+)", block))
        assigned = set(re.findall(r"^\s*(?:export\s+)?([A-Z_]+)=", block, re.MULTILINE))
        assert used <= assigned | {"PATH", "PWD"}, f"used before set: {used - assigned}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_every_readme_block_runs_verbatim_against_the_stack(local_stack):
    producer, consumer = local_stack.url("producer"), local_stack.url("consumer")
    env = {**local_stack.env("producer", "manage"), "PATH": os.environ["PATH"]}
    outputs = []
    for block in readme_blocks():
        script = block.replace("http://127.0.0.1:8000", producer).replace(
            "http://127.0.0.1:8001", consumer
        )
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (
            f"exit {done.returncode}\n{script}\n{done.stdout}\n{done.stderr}"
        )
        assert "command not found" not in done.stderr
        outputs.append(done.stdout)
    text = "\n".join(outputs)
    # What the comments promise: created, then processed with a result; bulk refused by index
    assert '"status":"pending"' in text or '"status":"processed"' in text
    assert '"decision":"approved"' in text
    assert '{"1":{"amount":["Must be greater than zero."]}}' in text
    assert '"webhook":{"state":"delivered"' in text
    assert '"balances":{"EUR":' in text
