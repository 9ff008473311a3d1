"""Cold start of the GUI to its first painted main window, as a ratio to a bare Qt window.

Both sides run in fresh subprocesses (offscreen platform) and exit the moment a widget of a
QMainWindow receives its first paint event; the wall time from spawn to exit is measured by this
process. The app side opens (and on the first run creates) a workspace in a throwaway home, the
way a user's first start does. Runs alternate between the two so load on the machine hits both.

    .venv/bin/python bench/bench_gui_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Installed before anything else: the first paint of any widget inside a QMainWindow ends the process.
EXIT_ON_FIRST_PAINT = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget
app = QApplication(sys.argv[:1])
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if (event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                and isinstance(obj.window(), QMainWindow)):
            os._exit(0)
        return False
first_paint = FirstPaint()
app.installEventFilter(first_paint)
"""

BARE = EXIT_ON_FIRST_PAINT + """
window = QMainWindow()
window.setWindowTitle("bare")
window.resize(1100, 680)
window.show()
app.exec()
os._exit(3)
"""

APP = EXIT_ON_FIRST_PAINT + """
from app.main import main
main(["--home", sys.argv[1]])
os._exit(3)
"""


def timed_run(code: str, *args: str) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PRISM_PASSPHRASE", None)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"start-up run failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as home:
        first_start = timed_run(APP, home)  # creates the workspace and migrates its store
        bare, prism = [], []
        for _ in range(args.runs):
            bare.append(timed_run(BARE))
            prism.append(timed_run(APP, home))
    bare_median, prism_median = statistics.median(bare), statistics.median(prism)
    print(f"runs: {args.runs} each (offscreen, fresh interpreter per run)")
    print(f"bare QApplication+QMainWindow to first paint: median {bare_median * 1000:.0f} ms "
          f"(min {min(bare) * 1000:.0f})")
    print(f"prism-desktop to first paint (existing workspace): median {prism_median * 1000:.0f} ms "
          f"(min {min(prism) * 1000:.0f})")
    print(f"prism-desktop first start (creates the workspace): {first_start * 1000:.0f} ms")
    print(f"ratio prism/bare: {prism_median / bare_median:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
