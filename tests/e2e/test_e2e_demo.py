"""`prism demo` as a user runs it: a subprocess on a fresh sandbox that leaves no process behind."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]
# the lead registers demo_cmds in COMMAND_GROUPS; until then the test adds it the same way
LAUNCH = ("import sys, app.cli as cli, app.cli.demo_cmds as demo; "
          "cli.COMMAND_GROUPS = (*[g for g in cli.COMMAND_GROUPS if g is not demo], demo); "
          "sys.exit(cli.main(sys.argv[1:]))")


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", LAUNCH, "demo", *args], cwd=ROOT, env=env, text=True, check=False,
                          capture_output=True, timeout=80)


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _home(stdout: str) -> str:
    match = re.search(r"fresh sandbox host under (\S+)", stdout)
    assert match, stdout
    return match.group(1)


def test_demo_succeeds_and_cleans_up() -> None:
    done = _demo()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "attestation verdict (snp-vtpm): ACCEPTABLE" in out
    assert re.search(r"PASS\s+atls\.report_data\.binding", out)
    assert "result sum.txt: 40" in out
    for step in ("create-vm", "manifest", "attestation", "upload-algorithm", "result", "remove-vm"):
        assert f"[ok] {step}" in out, step
    home = _home(out)
    assert not os.path.exists(home)  # throwaway files are gone without --keep
    assert _processes_mentioning(home) == []


def test_demo_refuses_a_broken_binding() -> None:
    done = _demo("--misbehave", "broken-binding", "--keep")
    out = done.stdout
    home = _home(out)
    try:
        assert done.returncode == 1, out + done.stderr
        assert "attestation verdict (snp-vtpm): REFUSED" in out
        assert re.search(r"FAIL\s+atls\.report_data\.binding", out), out + done.stderr
        assert "refused: the agent's attestation was refused, so no data was sent" in out
        assert "[FAILED] attestation" in out and "[ok] upload" not in out
        assert "still in state ReceivingAlgorithm" in out
        assert _processes_mentioning(home) == []
        assert os.path.isdir(home)  # --keep keeps files, never processes
    finally:
        shutil.rmtree(home, ignore_errors=True)
