"""``prism-desktop``: the GUI entry point (QApplication driven by a qasync asyncio loop).

Only argparse and the standard library are imported at module level; Qt and core are imported
inside ``main`` so ``--help`` is instant and cold start pays only for what it uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.session import Session
    from app.views.main_window import MainWindow
    from core.workspace.manager import WorkspaceManager

log = logging.getLogger("prism-desktop")

PASSPHRASE_ENV = "PRISM_PASSPHRASE"  # optional: unlock at start (screenshots, kiosk set-ups)
VIEW_CHOICES = ("keys", "certificates", "audit", "inspector", "collateral", "sandbox")
SCREENSHOT_SETTLE_S = 0.3
SMOKE_SETTLE_S = 10.0  # the views' first loads; far more than they take


def _moment(text: str) -> datetime:
    """``--at``: an ISO 8601 time; one without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as "
                                         "2025-01-31T12:00:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="prism-desktop",
        description="Prism Desktop: take part in confidential multi-party computations on TEEs.")
    parser.add_argument("--home", metavar="DIR", help="Prism home directory (default: $PRISM_HOME "
                        "or the user data directory)")
    parser.add_argument("--workspace", metavar="NAME", help="workspace to open (default: 'default', "
                        "created when missing)")
    parser.add_argument("--view", choices=VIEW_CHOICES, default="keys", help="view shown at start")
    parser.add_argument("--evidence", metavar="FILE", action="append", default=[],
                        help="open attestation evidence in the inspector at start (repeat to add its "
                             "certificates, a policy or collateral, as if dropped together)")
    parser.add_argument("--at", metavar="ISO8601", type=_moment,
                        help="verify evidence in the inspector as of this time (default: now), "
                             "e.g. 2025-01-31T12:00:00Z")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true",
                      help="self-check: start the loop, build the main window (hidden) and render it, "
                           "open the workspace, one async round trip, exit")
    mode.add_argument("--screenshot", metavar="FILE",
                      help="show the main window, let it paint, save it as PNG (and what it shows as "
                           "JSON beside it, FILE with .json) and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "prism-desktop"])
    assert isinstance(app, QApplication)
    app.setApplicationName("Prism Desktop")
    app.setOrganizationName("prism")
    app.setDesktopFileName("prism-desktop")
    # the loop, not Qt, decides when to stop: Qt quitting on its own would abort awaited work
    app.setQuitOnLastWindowClosed(False)
    import qasync

    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            return runner.run(_run(app, args))
    except KeyboardInterrupt:
        return 130


async def _run(app: QApplication, args: argparse.Namespace) -> int:
    from app.asyncio_support import cancel_pending
    from app.session import Session
    from core.errors import PrismError

    session = Session()
    # connected before the first await: a window closed while the workspace still opens must end
    # the app, not leave it running without a window
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def window_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    app.lastWindowClosed.connect(window_closed)
    try:
        # the window paints first; core (SQLAlchemy, cryptography) loads in a worker meanwhile
        window = _make_window(app, session, args.view, show=not args.smoke)
        if not args.smoke:
            await _first_paint(window)  # so the import below does not compete with it for the GIL
        if args.at is not None:  # after the paint: the inspector is built on first use
            window.inspector_view.set_time(args.at)
        _open_evidence(window, args.evidence)
        await _open_workspace(session, args)
        if args.smoke:
            return await _smoke(session, window)
        if args.screenshot:
            return await _screenshot(window, Path(args.screenshot))
        if not closed.done() and window.isVisible():
            await closed
        return 0
    except PrismError as error:
        print(f"prism-desktop: {error}", file=sys.stderr)
        return 2 if error.code in ("bad-input", "not-found") else 1
    finally:
        app.lastWindowClosed.disconnect(window_closed)
        await cancel_pending()
        await asyncio.to_thread(session.close)


async def _open_workspace(session: Session, args: argparse.Namespace) -> None:
    """Open the home and the chosen workspace off the GUI thread (imports, SQLite, migrations)."""
    from app.session import DEFAULT_WORKSPACE

    def open_home() -> WorkspaceManager:
        from core.workspace.manager import WorkspaceManager

        return WorkspaceManager(Path(args.home) if args.home else None)

    session.set_manager(await asyncio.to_thread(open_home))
    names = await asyncio.to_thread(session.workspace_names)
    name = args.workspace or (DEFAULT_WORKSPACE if DEFAULT_WORKSPACE in names or not names else names[0])
    if args.workspace and name not in names and name != DEFAULT_WORKSPACE:
        from core.errors import NotFound

        existing = ", ".join(names) or "none yet"
        raise NotFound(f"there is no workspace named {name!r} in {session.manager.home} "
                       f"(existing: {existing}); create it from the toolbar or omit --workspace")
    workspace = await asyncio.to_thread(session.manager.open, name, create=True)
    session.adopt_workspace(workspace)
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase and session.keystore_state() == "passphrase":
        await asyncio.to_thread(session.unlock, passphrase)


async def _first_paint(window: MainWindow, timeout: float = 1.0) -> None:
    """Wait until the window has painted once (or ``timeout`` passed, e.g. when minimised)."""
    from PySide6.QtCore import QEvent, QObject

    painted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not painted.done():
                painted.set_result(None)
            return False

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    try:
        await asyncio.wait_for(asyncio.shield(painted), timeout)
    except asyncio.TimeoutError:
        pass
    finally:
        window.removeEventFilter(watcher)


async def _smoke(session: Session, window: MainWindow) -> int:
    """The self-check: the loop runs, the store answers from a worker thread, the window builds,
    its views load and it renders (widgets, style, image plugins and icons all in place)."""
    from app.asyncio_support import pending_tasks, wait_until
    from app.resources import icon
    from core.errors import PrismError

    count = await asyncio.to_thread(session.count_events)
    state = await asyncio.to_thread(session.keystore_state)
    window.build_views()  # the views are built on first use; the self-check builds them all
    try:
        await wait_until(lambda: not pending_tasks(), timeout=SMOKE_SETTLE_S)
    except TimeoutError:
        log.warning("the views were still loading after %s s; rendering them as they are", SMOKE_SETTLE_S)
    image = window.grab().toImage()  # paints every visible child into an image, shown or not
    if image.isNull() or image.width() < 100 or icon("prism-desktop").isNull():
        raise PrismError("the main window did not render (Qt platform, image or icon plugins are "
                         "missing from this installation)")
    print(f"prism-desktop smoke ok: workspace {session.workspace_name!r} at {session.workspace.path}, "
          f"{count} audit events, keystore {state}, window {image.width()}x{image.height()} "
          f"with {window.stack.count()} views rendered")
    return 0


def _make_window(app: QApplication, session: Session, view: str, *, show: bool = True) -> MainWindow:
    from app.resources import icon
    from app.views.main_window import MainWindow

    app.setWindowIcon(icon("prism-desktop"))
    window = MainWindow(session, view=view)  # builds only that view before the first paint
    if show:
        window.show()
    return window


def _open_evidence(window: MainWindow, files: list[str]) -> None:
    if files:
        window.inspector_view.open_paths([Path(name) for name in files])


async def _screenshot(window: MainWindow, target: Path) -> int:
    from app.asyncio_support import pending_tasks, wait_until

    # the state below reads every view: build them all, let their first loads and the chain check
    # finish, then give Qt time to paint
    window.build_views()
    await wait_until(lambda: not pending_tasks(), timeout=30)
    await asyncio.sleep(SCREENSHOT_SETTLE_S)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(target), "PNG"):
        print(f"prism-desktop: could not write {target}", file=sys.stderr)
        return 1
    # what the picture shows, for checks that must not depend on pixels
    target.with_suffix(".json").write_text(json.dumps(window_state(window), indent=1, sort_keys=True))
    window.close()
    return 0


def window_state(window: MainWindow) -> dict[str, Any]:
    """The visible state of the main window: view, workspace, lock, row counts, inspector verdict."""
    session, inspector = window.session, window.inspector_view
    return {
        "view": window.current_view,
        "workspace": session.workspace_name,
        "locked": session.is_locked,
        "status": [window.workspace_label.text(), window.lock_label.text(), window.chain_label.text()],
        "rows": {"keys": window.keys_view.model.rowCount(),
                 "certificates": window.certificates_view.model.rowCount(),
                 "audit": window.audit_view.model.total,
                 "collateral": window.collateral_view.model.rowCount()},
        "inspector": {"state": inspector.banner.state, "title": inspector.banner.title.text(),
                      "at": inspector.verification_time().isoformat(),
                      "checks": [[c.id, c.status.value] for c in inspector.inspection.verdict.checks]
                      if inspector.inspection is not None else []},
    }


if __name__ == "__main__":
    sys.exit(main())
