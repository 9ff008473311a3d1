"""SIGKILL a process that writes the keystore and the audit log at random moments.

After every kill the keystore must open with its passphrase (never "corrupted"), hold a gap-free
prefix of the keys ever generated (nothing lost that an earlier open saw), and the audit chain of the
same workspace must verify. Temp files a kill leaves behind are never readable by others.

The writer opens the keystore through its workspace, which records a ``key.recovered`` event for a key
whose own event a kill cut off; so the log is at most the one in-flight event behind, and after a
final reconciling open it accounts for every key exactly once.
"""

from __future__ import annotations

import importlib
import random
import stat
import time
from pathlib import Path

from core.keys.keystore import Keystore
from core.workspace.audit import AuditLog
from core.workspace.manager import WorkspaceManager
from core.workspace.store import Store
from tests.unit.workspace.test_crash_safety import pytestmark, run_and_kill  # noqa: F401 - same skip rule

WRITER_MODULE = "tests.unit.workspace.keystore_writer"
KILLS = 50


def test_killed_keystore_writer_loses_nothing(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    writer = importlib.import_module(WRITER_MODULE)
    home = tmp_path / "home"
    ws_dir = home / "workspaces" / "default"
    seen = 0
    started = time.monotonic()
    for kill in range(KILLS):
        run_and_kill(writer.main, (str(home),), rng, max_delay=0.08)
        context = f"seed {seed}, kill {kill}"
        with Keystore.open(ws_dir / "keystore.prks", passphrase=writer.PASSPHRASE) as ks:
            names = [e.name for e in ks.list()]
        assert names == [f"key-{i:05d}" for i in range(1, len(names) + 1)], context  # a gap-free prefix
        assert len(names) >= seen, f"{context}: {seen - len(names)} keys lost"
        seen = len(names)
        for leftover in ws_dir.iterdir():
            mode = stat.S_IMODE(leftover.stat().st_mode)
            if leftover.is_file() and leftover.name.startswith("."):
                assert mode & 0o077 == 0, f"{context}: temp file {leftover.name} is mode {oct(mode)}"
        with Store(ws_dir / "workspace.sqlite") as store:
            report = AuditLog(store, "checker").verify_chain()
            assert report.ok, f"{context}: {report}"
            recorded = recorded_keys(AuditLog(store, "checker"))
        # The audit event follows the keystore write (two files cannot commit atomically together), so a
        # kill may cut off the one in-flight event; the next open records it, so the gap never grows.
        assert set(recorded) <= set(names), f"{context}: an event for a key the keystore does not hold"
        assert len(recorded) == len(set(recorded)), f"{context}: a key recorded twice"
        assert len(names) - len(recorded) in (0, 1), f"{context}: {len(recorded)} audit events for {seen} keys"
    assert seen > KILLS // 2, f"the writer generated only {seen} keys in {KILLS} runs"
    with WorkspaceManager(home, actor="checker") as manager, manager.open("default") as ws:
        with ws.open_keystore(passphrase=writer.PASSPHRASE) as ks:
            names = [e.name for e in ks.list()]
        recorded = recorded_keys(ws.audit)
        assert ws.audit.verify_chain().ok
    assert sorted(recorded) == names, f"seed {seed}: after the final reconcile the log still misses keys"
    print(f"keystore crash test: {KILLS} kills, {seen} keys, {time.monotonic() - started:.1f} s (seed {seed})")


def recorded_keys(log: AuditLog) -> list[str]:
    """Names of keys with an event saying they were added (generated, or recovered after a kill)."""
    return [e.subject for e in log.events(action_prefix="key.") if e.action in ("key.generate", "key.recovered")]
