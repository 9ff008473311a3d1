"""The Collateral view: the workspace's cached AMD/Intel collateral, how old it is and until when
it holds; import packs or folders (also by drop), export packs, fetch for evidence, remove."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QLabel,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.asyncio_support import Op, spawn
from app.models.collateral_model import (
    COL_AGE, COL_FETCHED, COL_KEY, COL_KIND, COL_STATUS, COL_UNTIL, EXPIRED, EXPIRES_SOON, FRESH,
    CollateralModel, ItemRole, SortRole, age_text,
)
from app.resources import icon
from app.session import Session
from app.views import collateral_work as work
from app.views.prompts import choose_directory, choose_open_files, choose_save_file, confirm
from app.views.widgets.busy import BusyIndicator
from app.views.widgets.details_panel import DetailsPanel
from app.views.widgets.drop_table import DropTable
from app.views.widgets.message_bar import MessageBar

PACK_FILTER = ("Collateral packs (*.zip);;Certificates, CRLs, Intel JSON (*.pem *.der *.cer *.crt *.crl *.json);;"
               "All files (*)")
EVIDENCE_FILTER = "Evidence (*.bin *.dat *.raw *.cbor *.jwt *.txt *.hex);;All files (*)"
PRODUCTS = (("AMD CPU: auto", None), ("Milan", "Milan"), ("Genoa (Siena, Bergamo)", "Genoa"),
            ("Turin", "Turin"))
PLACEHOLDER = ("No collateral in this workspace yet.\nDrop a collateral pack or folder here, import one, "
               "or fetch what a piece of evidence needs.")
NO_SELECTION = "Select an item to see where it came from and until when it holds."
REFRESH_MS = 60_000  # ages and "expires soon" move with the clock
DETAIL_FIELDS = (("summary", "Item"), ("source", "Source"), ("fetched", "Fetched"),
                 ("valid_from", "Valid from / issued"), ("valid_until", "Valid until / next update"),
                 ("sha256", "SHA-256"), ("size", "Size"))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ago(age: str) -> str:
    return age if age == "just now" or age.startswith("fetched") else f"{age} ago"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class CollateralView(QWidget):
    def __init__(self, session: Session | None = None, parent: QWidget | None = None, *,
                 clock: Callable[[], datetime] = _now) -> None:
        super().__init__(parent)
        self.session = session
        self.clock = clock
        self.model = CollateralModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.fetch_task: asyncio.Task[Any] | None = None
        self._generation = 0  # a load that a newer one (another workspace) overtook is dropped
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        if session is not None:
            session.workspaceChanged.connect(lambda _name: self._workspace_changed())
            if session.has_workspace:
                self.refresh()
        self._update_actions()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        self.bar = MessageBar()
        layout.addWidget(self.bar)
        layout.addWidget(self._build_toolbar())
        self.summary = QLabel()
        self.summary.setStyleSheet("color: #34425a;")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)
        self.busy = BusyIndicator()
        layout.addWidget(self.busy)
        self.table = DropTable(PLACEHOLDER)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_KIND, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.filesDropped.connect(lambda paths: self.import_paths(paths))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        for column, width in ((COL_STATUS, 115), (COL_KIND, 145), (COL_KEY, 130), (COL_UNTIL, 170),
                              (COL_AGE, 65), (COL_FETCHED, 115)):
            self.table.setColumnWidth(column, width)
        self.details = DetailsPanel(DETAIL_FIELDS, monospace=("sha256",))
        self.details.show_values({"summary": NO_SELECTION})
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.model.modelReset.connect(self._update_summary)
        self.model.dataChanged.connect(lambda *_args: self._update_summary())

    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar()
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.import_action = bar.addAction(icon("import"), "Import pack…")
        self.import_folder_action = bar.addAction(icon("workspace"), "Import folder…")
        self.export_action = bar.addAction(icon("export"), "Export pack…")
        bar.addSeparator()
        self.fetch_action = bar.addAction(icon("refresh"), "Fetch for evidence…")
        self.product_box = QComboBox()
        for text, value in PRODUCTS:
            self.product_box.addItem(text, value)
        self.product_box.setToolTip("The AMD processor of the report. \"auto\" reads it from the report; "
                                    "choose it only for SNP reports of version 2, which do not name it.")
        bar.addWidget(self.product_box)
        bar.addSeparator()
        self.remove_action = bar.addAction(icon("delete"), "Remove…")
        self.import_action.setToolTip("Import collateral packs (.zip) or loose certificates, CRLs and "
                                      "Intel JSON files; you can also drop them on the table")
        self.import_folder_action.setToolTip("Import every piece of collateral found in a folder")
        self.fetch_action.setToolTip("Choose an SNP report or TDX quote and download what verifying it "
                                     "needs from AMD KDS or Intel PCS")
        self.import_action.triggered.connect(lambda: spawn(self.choose_and_import()))
        self.import_folder_action.triggered.connect(lambda: spawn(self.choose_folder_and_import()))
        self.export_action.triggered.connect(lambda: spawn(self.choose_and_export()))
        self.fetch_action.triggered.connect(lambda: spawn(self.choose_and_fetch()))
        self.remove_action.triggered.connect(lambda: spawn(self.remove_selected()))
        return bar

    # --- state ---------------------------------------------------------------------------

    @property
    def cache_dir(self) -> Path | None:
        if self.session is None or not self.session.has_workspace:
            return None
        return self.session.workspace.cache_dir

    def _current(self, cache_dir: Path) -> bool:
        """Whether ``cache_dir`` still belongs to the open workspace (it may have been switched,
        renamed or deleted while a worker was busy with it)."""
        return cache_dir == self.cache_dir

    def _workspace_changed(self) -> None:
        # a fetch into the previous workspace has no one to report to and must not write there
        if self.fetch_task is not None and not self.fetch_task.done():
            self.fetch_task.cancel()
        self.refresh()

    def refresh(self) -> asyncio.Task[Any] | None:
        """Reload the cache's items in a worker; the selection is kept by kind and key."""
        self._generation += 1
        generation = self._generation
        cache_dir = self.cache_dir
        if cache_dir is None:
            self._set_rows(generation, [])
            return None
        return (Op(work.cached_items, cache_dir)
                .success(lambda items: self._current(cache_dir) and self._set_rows(generation, items))
                .failure(lambda error: self._current(cache_dir) and self.bar.show_error(error)).run())

    def _set_rows(self, generation: int, items: list[Any]) -> None:
        if generation != self._generation:
            return
        keep = {(i.kind, i.key) for i in self.selected_items()}
        self.model.set_rows(items, self.clock())
        rows = [self.proxy.mapFromSource(self.model.index(self.model.row_of(*k), 0)).row() for k in keep
                if self.model.row_of(*k) >= 0]
        self._select_rows(rows)
        self._update_actions()

    def _select_rows(self, rows: list[int]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            selection.select(self.proxy.index(row, 0), flags)
        if rows:
            selection.setCurrentIndex(self.proxy.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate)

    def tick(self) -> None:
        self.model.set_time(self.clock())
        self._selection_changed()

    def selected_items(self) -> list[Any]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(row, 0).data(ItemRole) for row in rows]

    def _selection_changed(self, *_args: object) -> None:
        chosen = self.selected_items()
        if len(chosen) == 1:
            self.details.show_values(self._detail_values(chosen[0]))
        elif chosen:
            self.details.show_values({"summary": f"{len(chosen)} items selected"})
        else:
            self.details.show_values({"summary": NO_SELECTION})
        self._update_actions()

    def _detail_values(self, item: Any) -> dict[str, str]:
        def when(moment: datetime | None) -> str:
            return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else ""

        return {"summary": item.describe(self.model.at), "source": item.source_url,
                "fetched": f"{when(item.fetched_at)} ({_ago(age_text(item, self.model.at))})",
                "valid_from": when(item.not_before), "valid_until": when(item.not_after) or "no expiry",
                "sha256": item.sha256, "size": f"{len(item.data):,} bytes"}

    def _update_summary(self) -> None:
        total = self.model.rowCount()
        if total == 0:
            self.summary.setText("No collateral cached in this workspace.")
            return
        counts = self.model.counts()
        parts = [f"<b>{_plural(total, 'item')}</b>", f"<span style='color:#1a7f4b'>{counts[FRESH]} fresh</span>"]
        if counts[EXPIRES_SOON]:
            soon = counts[EXPIRES_SOON]
            verb = "expires" if soon == 1 else "expire"
            parts.append(f"<span style='color:#8a6100'><b>{soon} {verb} within 7 days</b></span>")
        if counts[EXPIRED]:
            parts.append(f"<span style='color:#b3261e'><b>{counts[EXPIRED]} expired</b></span>")
        at = f"as of {self.model.at:%Y-%m-%d %H:%M} UTC"
        self.summary.setText(" · ".join(parts) + f" <span style='color:#5b6577'>({at})</span>")

    def _update_actions(self) -> None:
        count = len(self.selected_items())
        has_workspace = self.cache_dir is not None
        fetching = self.fetch_task is not None and not self.fetch_task.done()
        self.export_action.setText(f"Export {count} selected…" if count > 1 else
                                   "Export selected…" if count == 1 else "Export all…")
        self.export_action.setEnabled(has_workspace and self.model.rowCount() > 0)
        self.remove_action.setEnabled(has_workspace and count > 0)
        self.fetch_action.setEnabled(has_workspace and not fetching)
        for action in (self.import_action, self.import_folder_action):
            action.setEnabled(has_workspace)
        self.table.setAcceptDrops(has_workspace)
        self.table.viewport().setAcceptDrops(has_workspace)

    def _run(self, op: Op, busy_text: str, done: Callable[[Any], str],
             cache_dir: Path | None = None) -> asyncio.Task[Any]:
        """Run ``op``; its outcome is shown only while ``cache_dir``'s workspace is still open."""

        def succeeded(result: Any) -> None:
            if cache_dir is None or self._current(cache_dir):
                self.bar.show_message(done(result), "success")
                self.refresh()

        def failed(error: BaseException) -> None:
            if cache_dir is None or self._current(cache_dir):
                self.bar.show_error(error)

        self.bar.hide()
        self.busy.start(busy_text)
        return op.success(succeeded).failure(failed).done(self.busy.stop).run()

    # --- import and export -----------------------------------------------------------------

    async def choose_and_import(self) -> None:
        paths = await choose_open_files(self, "Import collateral packs or files", PACK_FILTER)
        if paths:
            self.import_paths(paths)

    async def choose_folder_and_import(self) -> None:
        folder = await choose_directory(self, "Import a collateral folder")
        if folder is not None:
            self.import_paths([folder])

    def import_paths(self, paths: list[Path]) -> asyncio.Task[Any] | None:
        cache_dir = self.cache_dir
        if cache_dir is None or not paths:
            return None
        names = ", ".join(Path(p).name for p in paths)
        return self._run(Op(work.import_paths, cache_dir, [Path(p) for p in paths]), f"Importing {names}…",
                         lambda items: f"Imported {_plural(len(items), 'item')} from {names}.", cache_dir)

    async def choose_and_export(self) -> None:
        items = self.selected_items() or self.model.items()
        if not items:
            return
        name = f"collateral-{self.clock():%Y%m%d}.zip"
        target = await choose_save_file(self, "Export a collateral pack", name, "Collateral packs (*.zip)")
        if target is not None:
            self.export_to(target, items)

    def export_to(self, target: Path, items: list[Any] | None = None) -> asyncio.Task[Any]:
        chosen = items if items is not None else (self.selected_items() or self.model.items())
        return self._run(Op(work.export_items, chosen, Path(target)), f"Writing {Path(target).name}…",
                         lambda path: f"Exported {_plural(len(chosen), 'item')} to {path}.")

    # --- remove ----------------------------------------------------------------------------

    async def remove_selected(self) -> None:
        from core.attestation.collateral.items import kind_name

        items, cache_dir = self.selected_items(), self.cache_dir
        if not items or cache_dir is None:
            return
        what = (f"the {kind_name(items[0].kind)} “{items[0].key}”" if len(items) == 1
                else _plural(len(items), "item"))
        sure = await confirm(self, "Remove collateral", f"Remove {what} from this workspace's cache?",
                             informative="Verification that needs it will fail offline until you fetch it "
                                         "again or import a pack that holds it.",
                             accept_text="Remove", destructive=True)
        if sure:
            keys = [(item.kind, item.key) for item in items]
            await self._run(Op(work.remove_items, cache_dir, keys), "Removing…",
                            lambda count: f"Removed {_plural(count, 'item')} from the cache.", cache_dir)

    # --- fetch -----------------------------------------------------------------------------

    async def choose_and_fetch(self) -> None:
        paths = await choose_open_files(self, "Fetch collateral for this evidence", EVIDENCE_FILTER)
        if paths:
            self.fetch_for(paths[0])

    def fetch_for(self, evidence: Path) -> asyncio.Task[Any] | None:
        """Fetch what ``evidence`` needs in the background; errors (offline, 404) appear in place."""
        cache_dir = self.cache_dir
        if cache_dir is None or (self.fetch_task is not None and not self.fetch_task.done()):
            return None
        self.bar.hide()
        self.busy.start(f"Fetching collateral for {Path(evidence).name} from AMD KDS / Intel PCS…")
        self.fetch_task = spawn(self._fetch(cache_dir, Path(evidence), self.product_box.currentData()))
        self._update_actions()
        return self.fetch_task

    async def _fetch(self, cache_dir: Path, evidence: Path, product: str | None) -> None:
        at = self.clock()
        try:
            outcome = await work.in_worker_loop(lambda: work.fetch_for_evidence(cache_dir, evidence, at, product))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - shown in place, typed errors carry their advice
            if self._current(cache_dir):
                self.bar.show_error(error)
        else:
            if self._current(cache_dir):
                self.bar.show_message(self._fetched_text(outcome), "success")
                self.refresh()
        finally:
            self.busy.stop()
            self.fetch_task = None
            self._update_actions()

    @staticmethod
    def _fetched_text(outcome: work.FetchOutcome) -> str:
        name, total = outcome.evidence.name, len(outcome.items)
        if outcome.fetched == 0:
            return f"All {_plural(total, 'item')} {name} needs were already cached and fresh."
        reused = total - outcome.fetched
        extra = f"; {reused} already cached" if reused else ""
        return f"Fetched {_plural(outcome.fetched, 'item')} for {name}{extra}."
