"""How core starts Python in a child process, from a checkout or from the frozen bundle.

In a PyInstaller bundle ``sys.executable`` is the app itself, which understands
``prism-desktop python -m MODULE ...`` (see packaging/launch.py). Algorithms a participant runs in
the sandbox need a full Python with its whole standard library, so in the bundle they run with
the system's ``python3``.
"""

from __future__ import annotations

import shutil
import sys

from core.errors import Refused


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def module_command(module: str) -> list[str]:
    """argv that runs ``python -m module`` with this app's code."""
    if frozen():
        return [sys.executable, "python", "-m", module]
    return [sys.executable, "-m", module]


def script_interpreter() -> list[str]:
    """argv prefix that runs a participant's Python script, isolated from the user's site and env."""
    if not frozen():
        return [sys.executable, "-I"]
    system = shutil.which("python3")
    if system is None:
        raise Refused("running a python algorithm in the sandbox needs python3 on this machine; "
                      "install it (e.g. apt-get install python3) or use a 'bin' algorithm")
    return [system, "-I"]
