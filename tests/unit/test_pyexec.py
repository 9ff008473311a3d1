"""Child Python processes: from a checkout, and as the frozen bundle runs them."""

from __future__ import annotations

import sys

import pytest

from core import pyexec
from core.errors import Refused


def test_checkout_uses_this_interpreter():
    assert pyexec.module_command("core.sandbox.host") == [sys.executable, "-m", "core.sandbox.host"]
    assert pyexec.script_interpreter() == [sys.executable, "-I"]


def test_frozen_bundle_runs_modules_through_itself_and_scripts_with_system_python(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/prism/prism-desktop")
    assert pyexec.module_command("core.sandbox.agent_process") == [
        "/opt/prism/prism-desktop", "python", "-m", "core.sandbox.agent_process"]
    monkeypatch.setattr(pyexec.shutil, "which", lambda name: "/usr/bin/python3" if name == "python3" else None)
    assert pyexec.script_interpreter() == ["/usr/bin/python3", "-I"]
    monkeypatch.setattr(pyexec.shutil, "which", lambda name: None)
    with pytest.raises(Refused, match="needs python3"):
        pyexec.script_interpreter()
