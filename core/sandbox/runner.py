"""Run an uploaded algorithm in the agent's work directory (COCOS-PROTOCOL.md §5.4).

Layout: ``algo`` (0700), optional ``requirements.txt``, ``datasets/``; the algorithm writes to
``results/``. ``bin`` is executed directly; ``python`` runs with this interpreter (the sandbox
installs no requirements and has no egress proxy, which is logged). After the run, ``results/``
is zipped in memory and the algorithm, datasets and results are deleted, as the real agent does.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import Refused
from core.pyexec import script_interpreter
from core.sandbox.state import AgentLog, LogListener

log = logging.getLogger(__name__)

ALGO_FILE = "algo"
REQUIREMENTS_FILE = "requirements.txt"
DATASETS_DIR = "datasets"
RESULTS_DIR = "results"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MAX_LOG_LINES = 1000


class RunError(Refused):
    """The algorithm did not run to a successful end; the message is the agent's run error."""

    code = "run-failed"


@dataclass(frozen=True, slots=True)
class RunSpec:
    algo_type: str
    args: tuple[str, ...] = ()
    timeout: float = 300.0


def _command(work_dir: Path, spec: RunSpec) -> list[str]:
    algo = str(work_dir / ALGO_FILE)
    if spec.algo_type == "bin":
        return [algo, *spec.args]
    if spec.algo_type == "python":
        # -I: no user site-packages and no PYTHON* variables from the host leak into the run.
        return [*script_interpreter(), algo, *spec.args]
    raise RunError(f"algorithm execution error: algo_type {spec.algo_type!r} is not supported by the "
                   "sandbox (only bin and python)")


def _env(work_dir: Path) -> dict[str, str]:
    # A minimal environment: nothing of the user's session (tokens, proxies) reaches the algorithm.
    return {"PATH": os.defpath, "HOME": str(work_dir), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def _emit(output: bytes, level: str, on_log: LogListener | None) -> None:
    if on_log is None:
        return
    for line in output.decode("utf-8", "replace").splitlines()[:_MAX_LOG_LINES]:
        on_log(AgentLog(level, line))


async def run_algorithm(work_dir: Path, spec: RunSpec, on_log: LogListener | None = None) -> bytes:
    """Run the staged algorithm and return the zip of ``results/``; raises ``RunError``."""
    if spec.algo_type == "python" and (work_dir / REQUIREMENTS_FILE).exists() and on_log is not None:
        on_log(AgentLog("warn", "requirements.txt was uploaded but the sandbox does not install "
                                "packages; the algorithm runs with the host interpreter's modules"))
    (work_dir / RESULTS_DIR).mkdir(exist_ok=True)
    (work_dir / DATASETS_DIR).mkdir(exist_ok=True)
    command = _command(work_dir, spec)
    # A worker thread rather than an asyncio subprocess: it ties no transport to the loop, and
    # subprocess.run kills the child itself when the timeout expires.
    try:
        done = await asyncio.to_thread(
            subprocess.run, command, cwd=work_dir, env=_env(work_dir), stdin=subprocess.DEVNULL,
            capture_output=True, timeout=spec.timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        _emit(exc.stderr or b"", "error", on_log)
        raise RunError(f"algorithm execution error: timed out after {spec.timeout:g} s") from None
    except OSError as exc:
        raise RunError(f"algorithm execution error: {exc.strerror or exc}") from exc
    _emit(done.stdout, "info", on_log)
    _emit(done.stderr, "error", on_log)
    if done.returncode != 0:
        raise RunError(f"algorithm execution error: exit status {done.returncode}")
    return zip_results(work_dir / RESULTS_DIR)


def zip_results(results: Path) -> bytes:
    """A deterministic zip of ``results/``: sorted names, fixed time and mode, forward slashes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = sorted(p for p in results.rglob("*") if p.is_file() and not p.is_symlink())
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(results).as_posix(), _ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def clean_work_dir(work_dir: Path, names: Sequence[str] = (ALGO_FILE, REQUIREMENTS_FILE, DATASETS_DIR,
                                                            RESULTS_DIR)) -> None:
    """Delete the run's inputs and outputs (the real agent wipes them after zipping)."""
    for name in names:
        path = work_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
