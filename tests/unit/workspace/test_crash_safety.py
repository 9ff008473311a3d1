"""SIGKILL a process appending to the audit log at random moments; the chain must stay sound.

The head anchor is written after each commit, so a kill may leave it exactly one event
behind; that is accepted by verify_chain() and repaired when the log is next opened.

Writers are forked from a forkserver that imported the code once, so each of the many
kills costs milliseconds instead of a fresh interpreter start.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from core.workspace.audit import AuditLog
from core.workspace.store import Store

REPO = Path(__file__).resolve().parents[3]
WRITER = Path(__file__).with_name("audit_writer.py")
WRITER_MODULE = "tests.unit.workspace.audit_writer"
KILLS = 60

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL") or "forkserver" not in multiprocessing.get_all_start_methods(),
    reason="needs POSIX SIGKILL and the forkserver start method",
)


def forkserver_context(preload: list[str]) -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    return context


def run_and_kill(target: Callable[..., None], args: tuple, rng: random.Random, max_delay: float) -> None:
    """Run ``target(*args, ready)`` in a forked child; SIGKILL it a random moment after ready."""
    context = forkserver_context([WRITER_MODULE])
    ready = context.Event()
    process = context.Process(target=target, args=(*args, ready), daemon=True)
    process.start()
    try:
        assert ready.wait(30), f"the writer did not get ready (exit code {process.exitcode})"
        time.sleep(rng.uniform(0.0, max_delay))
    finally:
        process.kill()  # SIGKILL: no cleanup handlers, no flushing, as in a crash
        process.join()
    assert process.exitcode == -signal.SIGKILL


def _raw_state(store_path: Path) -> tuple[int, int]:
    raw = sqlite3.connect(store_path)
    try:
        count, top = raw.execute("SELECT count(*), coalesce(max(seq), 0) FROM audit_events").fetchone()
    finally:
        raw.close()
    return count, top


def _anchor_seq(head: Path) -> int:
    return json.loads(head.read_text())["seq"] if head.exists() else 0


def test_killed_writer_never_leaves_a_broken_chain(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    store_path, head = tmp_path / "store.sqlite", tmp_path / "audit.head"
    writer = importlib.import_module(WRITER_MODULE).main
    lagged = 0
    previous_top = 0
    started = time.monotonic()
    for kill in range(KILLS):
        run_and_kill(writer, (str(store_path),), rng, max_delay=0.06)

        count, top = _raw_state(store_path)
        anchor_before = _anchor_seq(head)
        context = f"seed {seed}, kill {kill}: {count} rows, top seq {top}, anchor {anchor_before}"
        assert count == top and top >= previous_top, context  # no gaps, nothing lost
        assert anchor_before in (top, top - 1), context  # at most the in-flight event behind
        lagged += anchor_before == top - 1
        with Store(store_path) as store:
            log = AuditLog(store, "checker")  # repairs a lagging anchor
            report = log.verify_chain()
            assert report.ok and report.checked == top, f"{context}: {report}"
            assert _anchor_seq(head) == top, context
            newest = log.events(newest_first=True, limit=1)
            assert not newest or newest[0].details["index"] >= 1  # the last record is whole
        previous_top = top

    elapsed = time.monotonic() - started
    assert previous_top > KILLS  # the writer did get events in between kills
    sys.stderr.write(f"crash test: {KILLS} kills, {previous_top} events, anchor one behind "
                     f"after {lagged} kills, {elapsed:.1f} s (seed {seed})\n")


def test_two_writers_and_a_reader_at_once(tmp_path: Path) -> None:
    """Two processes append while this one verifies: no false alarm, no fork in the chain."""
    store_path = tmp_path / "store.sqlite"
    Store(store_path).close()  # migrate once, before the writers race to open it
    env = os.environ | {"PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen([sys.executable, str(WRITER), str(store_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    reports = []
    try:
        for writer in writers:
            assert writer.stdout.readline() == b"ready\n", writer.stderr.read().decode(errors="replace")
        with Store(store_path) as store:
            log = AuditLog(store, "reader")
            for _ in range(8):
                reports.append(log.verify_chain())
                time.sleep(0.05)
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
            writer.stdout.close()
            writer.stderr.close()
    assert all(report.ok for report in reports), [r for r in reports if not r.ok]
    assert reports[-1].checked > reports[0].checked  # the writers really were writing
    with Store(store_path) as store:
        log = AuditLog(store, "checker")
        final = log.verify_chain()
        assert final.ok, final
        subjects = [event.subject for event in log.events()]
        assert len(subjects) == final.checked
