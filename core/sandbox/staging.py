"""Write accepted uploads into the agent's work directory (COCOS-PROTOCOL.md §5.3-§5.4, §7.2).

Deliberate deviation from the real agent: it does not sanitise names (zip-slip, §14 #8), but the
sandbox runs on the participant's own machine, so a file name or zip entry that would land
outside ``datasets/`` is refused instead of written.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path, PurePosixPath

from core.sandbox.agent_errors import ERR_DECOMPRESS, ERR_FILENAME_MISMATCH, unknown
from core.sandbox.runner import ALGO_FILE, DATASETS_DIR, REQUIREMENTS_FILE


def _inside(root: Path, name: str) -> Path | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or any(p in ("..", "") for p in parts) or ":" in parts[0]:
        return None
    return root.joinpath(*parts)


def stage_algorithm(work_dir: Path, algorithm: bytes, requirements: bytes) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / ALGO_FILE
    path.write_bytes(algorithm)
    os.chmod(path, 0o700)
    if requirements:
        (work_dir / REQUIREMENTS_FILE).write_bytes(requirements)


def stage_dataset(work_dir: Path, filename: str, data: bytes, *, decompress: bool) -> None:
    """Write ``data`` as ``datasets/<filename>``, or extract it there when ``decompress``."""
    root = work_dir / DATASETS_DIR
    root.mkdir(parents=True, exist_ok=True)
    if not decompress:
        target = _inside(root, filename)
        if target is None:
            raise unknown(ERR_FILENAME_MISMATCH)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            for info in members:
                if _inside(root, info.filename) is None:
                    raise unknown(f"{ERR_DECOMPRESS}: entry {info.filename!r} would be written outside "
                                  "the datasets directory")
            archive.extractall(root)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise unknown(f"{ERR_DECOMPRESS}: {exc or type(exc).__name__}") from exc
