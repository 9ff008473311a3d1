"""Where Prism keeps its files: one home directory holding one directory per workspace."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "prism-desktop"
HOME_ENV = "PRISM_HOME"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The Prism home: an explicit ``--home`` wins, then ``$PRISM_HOME``, then the user data dir."""
    if home:
        return Path(home).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)).resolve()
