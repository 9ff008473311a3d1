"""SIGKILL a process that writes the keystore and the audit log at random moments.

After every kill the keystore must open with its passphrase (never "corrupted"), hold a gap-free
prefix of the keys ever generated (nothing lost that an earlier open saw), and the audit chain of the
same workspace must verify. Temp files a kill leaves behind are never readable by others.
"""

from __future__ import annotations

import importlib
import random
import stat
import time
from pathlib import Path

from core.keys.keystore import Keystore
from core.workspace.audit import AuditLog
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
    last_deficit = 0
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
            generated = store_generate_events(AuditLog(store, "checker"))
        # The audit event follows the keystore write (two files cannot commit atomically together), so
        # each kill may cost at most the one in-flight event; never more, and never an event without a key.
        deficit = seen - generated
        assert 0 <= deficit - last_deficit <= 1, f"{context}: {generated} audit events for {seen} keys"
        last_deficit = deficit
    assert seen > KILLS // 2, f"the writer generated only {seen} keys in {KILLS} runs"
    print(f"keystore crash test: {KILLS} kills, {seen} keys, {time.monotonic() - started:.1f} s (seed {seed})")


def store_generate_events(log: AuditLog) -> int:
    return log.count(action_prefix="key.generate")
