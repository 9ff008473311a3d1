"""The Sandbox view against real sandbox processes on loopback: status, a whole demo run, refusals, cancel, quit.

Every test starts its own sandbox daemon in a throwaway Prism home and checks, at the end, that
no process mentioning that home is left. Run as a module (``python -m tests.gui.test_sandbox_view
shoot OUT.png [MISBEHAVIOUR]``) it drives the real window under X for the screenshot tests.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.asyncio_support import wait_until
from app.models.steps_model import COL_DETAIL, COL_NAME, COL_STATUS, StepRole, StepsModel
from core.attestation.verdict import Status
from core.cocos.lifecycle import Step, StepStatus
from core.sandbox.control import SandboxControl, process_alive
from tests.gui.test_screenshots import shot_dir, x_display  # noqa: F401 - the shared Xvfb fixtures

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
RUN_STEPS = ["sandbox", "party", "policy", "check-inputs", "cvms", "create-vm", "manifest", "attestation",
             "hash-probe", "upload-algorithm", "upload-dataset values.csv", "result", "unzip", "remove-vm",
             "cvms-stop"]


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def home(session: Any) -> Any:
    """The Prism home: after the test nothing of its sandbox may still run (stopped here if a test failed)."""
    path = session.manager.home
    yield path
    control = SandboxControl(path)
    leaked = control.status().running
    control.down()
    deadline = time.monotonic() + 10
    while processes_mentioning(str(path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leaked, "the test left the sandbox daemon running"
    assert processes_mentioning(str(path)) == []


@pytest.fixture
def view(session: Any, home: Any, qtbot: Any) -> Any:
    from app.views.sandbox_view import SandboxView

    widget = SandboxView(session)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    yield widget
    widget.stop_owned_daemon()


def step_names(view: Any, status: StepStatus | None = None) -> list[str]:
    return [s.name for s in view.steps_model.steps() if status is None or s.status is status]


# --- the steps model ---------------------------------------------------------------------------


def test_steps_model_updates_a_step_in_place(qtmodeltester: Any) -> None:
    from PySide6.QtCore import Qt

    model = StepsModel()
    model.add_step(Step("cvms", StepStatus.STARTED))
    assert model.index(0, COL_STATUS).data() == "Running…"
    model.add_step(Step("cvms", StepStatus.OK, "listening on 127.0.0.1:5000 (mTLS)"))
    model.add_step(Step("upload-dataset a.csv", StepStatus.STARTED))
    model.add_step(Step("upload-dataset a.csv", StepStatus.FAILED, "cancelled"))
    qtmodeltester.check(model)
    assert model.rowCount() == 2  # the end of a step replaces its start
    assert [model.index(r, COL_STATUS).data() for r in range(2)] == ["OK", "FAILED"]
    assert model.index(0, COL_NAME).data() == "Start the CVMS server"
    assert model.index(1, COL_NAME).data() == "Upload dataset a.csv"
    assert model.index(0, COL_DETAIL).data() == "listening on 127.0.0.1:5000 (mTLS)"
    assert model.index(1, COL_STATUS).data(Qt.ItemDataRole.ForegroundRole).name() == "#b3261e"
    assert model.index(1, 0).data(StepRole).detail == "cancelled"
    model.clear()
    assert model.rowCount() == 0


# --- the daemon --------------------------------------------------------------------------------


def test_start_and_stop_show_the_status(view: Any, home: Path, arun: Any) -> None:
    async def scenario() -> None:
        await view.refresh()
        assert "stopped" in view.status_panel.label.text()
        assert view.status_panel.start_button.isEnabled() and not view.status_panel.stop_button.isEnabled()
        view.status_panel.start_button.click()
        await wait_until(lambda: view.status is not None and view.status.running, timeout=30)
        status = SandboxControl(home).status()
        assert status.running and view.owns_daemon
        text = view.status_panel.label.text()
        assert "running" in text and status.manager_target in text and "CVMs: 0" in text
        assert view.status_panel.stop_button.isEnabled() and not view.status_panel.start_button.isEnabled()
        view.status_panel.stop_button.click()
        await wait_until(lambda: view.status is not None and not view.status.running, timeout=20)
        assert not process_alive(status.pid) and not view.owns_daemon
        assert "stopped" in view.status_panel.label.text()

    arun(scenario())


# --- demo runs -----------------------------------------------------------------------------------


def test_a_demo_run_shows_every_step_the_verdict_and_the_result(view: Any, home: Path, arun: Any) -> None:
    from PySide6.QtCore import QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))

    async def scenario() -> None:
        timer.start(20)
        task = view.run_demo()
        assert task is not None and view.cancel_button.isEnabled() and not view.run_button.isEnabled()
        await task
        timer.stop()

    arun(scenario())
    assert step_names(view, StepStatus.OK) == RUN_STEPS
    assert step_names(view, StepStatus.FAILED) == []
    assert view.banner.state == "ok" and "sum.txt = 40" in view.banner.title.text()
    verdict = view.result.verdict
    assert verdict.acceptable and verdict.get("atls.report_data.binding").status is Status.PASS
    assert view.checks_panel.model.rowCount() == len(verdict.checks)
    [result] = view.results_panel.files
    assert (result.name, result.preview) == ("sum.txt", "40\n")
    assert view.results_panel.preview.toPlainText() == "40\n"
    assert view.tabs.currentWidget() is view.results_panel
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    # the GUI thread kept turning: the longest pause between two 20 ms ticks stays short
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 20 and max(gaps) < 0.5, max(gaps)
    assert view.owns_daemon and SandboxControl(home).status().vms == ()


def test_a_broken_binding_is_refused_and_shows_the_failing_check(view: Any, arun: Any) -> None:
    from app.models.checks_model import CheckRole

    view.misbehave_box.setCurrentIndex(view.misbehave_box.findData("broken-binding"))
    arun(view.run_demo())
    assert view.banner.state == "bad"
    assert "Refused" in view.banner.title.text() and "atls.report_data.binding" in view.banner.title.text()
    assert "received no algorithm or data byte" in view.banner.detail.text()
    assert view.result.refusal.code == "attestation-refused"
    check = view.result.verdict.get("atls.report_data.binding")
    assert check.status is Status.FAIL
    # the failing check is the one selected in the checks table
    assert view.checks_panel.selected_check() == check
    assert view.tabs.currentWidget() is view.checks_panel
    assert view.checks_panel.model.index(view.checks_panel.model.row_of(check.id), 0).data(CheckRole) == check
    failed = [s for s in view.steps_model.steps() if s.status is StepStatus.FAILED]
    assert [s.name for s in failed] == ["attestation"]
    assert not [n for n in step_names(view) if n.startswith("upload")]
    assert {"remove-vm", "cvms-stop"} <= set(step_names(view, StepStatus.OK))
    assert view.status.misbehave == "broken-binding" and view.results_panel.files == ()


def test_cancel_mid_run_cleans_up(view: Any, home: Path, arun: Any) -> None:
    agents: list[int] = []

    async def scenario() -> None:
        task = view.run_demo()
        assert task is not None
        await wait_until(lambda: "manifest" in step_names(view, StepStatus.OK), timeout=30)
        agents.extend(vm["pid"] for vm in SandboxControl(home).status().vms)
        view.cancel_button.click()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(lambda: view.status is not None and view.status.vms == (), timeout=10)

    arun(scenario())
    assert view.banner.state == "cancelled" and view.banner.title.text() == "Run cancelled"
    assert "The CVM was removed" in view.banner.detail.text()
    assert "cancelled" in [s.detail for s in view.steps_model.steps() if s.status is StepStatus.FAILED]
    assert {"remove-vm", "cvms-stop"} <= set(step_names(view, StepStatus.OK))
    assert "result" not in step_names(view)
    assert len(agents) == 1 and not process_alive(agents[0])
    assert view.run_button.isEnabled() and not view.running


def test_cancel_while_the_sandbox_starts_still_owns_the_daemon(view: Any, home: Path, arun: Any) -> None:
    async def scenario() -> None:
        task = view.run_demo()
        assert task is not None
        await wait_until(lambda: step_names(view) == ["sandbox"], timeout=5)
        view.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    arun(scenario())
    # the daemon came up after all: the view knows it started it, so it stops it at quit
    assert view.owns_daemon and SandboxControl(home).status().running
    assert [(s.name, s.status, s.detail) for s in view.steps_model.steps()] == [
        ("sandbox", StepStatus.FAILED, "cancelled")]
    assert view.banner.title.text() == "Run cancelled" and "No CVM had been created" in view.banner.detail.text()
    assert view.stop_owned_daemon()


def test_closing_the_window_stops_the_daemon_it_started(session: Any, home: Path, arun: Any, qtbot: Any) -> None:
    from app.views.main_window import MainWindow

    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    window.show_view("sandbox")
    view = window.sandbox_view

    async def scenario() -> None:
        await view.start()
        pid = SandboxControl(home).status().pid
        assert pid is not None and view.owns_daemon
        window.close()  # the view holds the close until the daemon is down
        await wait_until(lambda: not window.isVisible(), timeout=20)
        assert not process_alive(pid)

    arun(scenario())
    assert not SandboxControl(home).status().running and not view.owns_daemon


def test_a_daemon_started_elsewhere_is_left_running(view: Any, home: Path, arun: Any) -> None:
    control = SandboxControl(home)
    status = control.up()
    try:
        async def scenario() -> None:
            await view.start()
            await view.shutdown()

        arun(scenario())
        assert not view.owns_daemon and "started outside this window" in view.status_panel.label.text()
        assert process_alive(status.pid)
    finally:
        control.down()


# --- screenshots under X ------------------------------------------------------------------------


def _shoot(target: Path, display: str, home: Path, misbehave: str = "") -> Any:
    from PySide6.QtGui import QImage

    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": display, "PRISM_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "tests.gui.test_sandbox_view", "shoot", str(target), str(home),
                           misbehave], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert processes_mentioning(str(home)) == []
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 1000
    return image


def _has_colour(image: Any, rgb: int, step: int = 4) -> bool:
    return any(image.pixel(x, y) & 0xFFFFFF == rgb
               for y in range(0, image.height() // 2, step) for x in range(0, image.width(), step))


@pytest.mark.xvfb
def test_screenshot_of_a_successful_run(x_display: str, shot_dir: Path, tmp_path: Path) -> None:
    image = _shoot(shot_dir / "sandbox-run.png", x_display, tmp_path / "home")
    assert _has_colour(image, 0xE6F4EA) and not _has_colour(image, 0xFDECEA)  # the banner is green


@pytest.mark.xvfb
def test_screenshot_of_a_refusal(x_display: str, shot_dir: Path, tmp_path: Path) -> None:
    image = _shoot(shot_dir / "sandbox-refused.png", x_display, tmp_path / "home", "broken-binding")
    assert _has_colour(image, 0xFDECEA) and not _has_colour(image, 0xE6F4EA)  # the banner is red


def _shoot_main(target: str, home: str, misbehave: str) -> int:
    """Show the main window on the Sandbox view, run the demo, save the window, quit (stopping the sandbox)."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.session import Session
    from app.views.main_window import MainWindow
    from core.keys.keystore import KdfParams
    from core.workspace.manager import WorkspaceManager

    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)

    async def shoot() -> int:
        session = Session(WorkspaceManager(Path(home), actor="screenshot"), kdf=KdfParams.FAST)
        session.open_workspace("default", create=True)
        window = MainWindow(session)
        window.resize(1280, 820)
        window.show()
        window.show_view("sandbox")
        view = window.sandbox_view
        view.misbehave_box.setCurrentIndex(view.misbehave_box.findData(misbehave or None))
        await view.run_demo()
        await wait_until(lambda: view.status is not None and not view.busy.isVisible(), timeout=10)
        await asyncio.sleep(0.5)
        saved = window.grab().save(target, "PNG")
        window.close()
        await wait_until(lambda: not window.isVisible(), timeout=20)
        await asyncio.to_thread(session.close)
        return 0 if saved else 1

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        return runner.run(shoot())

if __name__ == "__main__" and sys.argv[1:2] == ["shoot"]:
    sys.exit(_shoot_main(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else ""))
