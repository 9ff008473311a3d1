"""The Attestation Inspector's tabs: checks, decoded fields with hex, TCB, certificates, policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.models.cert_chain_model import CertChainModel
from app.models.checks_model import (
    COL_EXPLANATION,
    COL_ID,
    COL_STAGE,
    COL_STATUS,
    STATUS_COLOURS,
    STATUS_TEXT,
    ChecksModel,
    policy_comparison,
)
from app.models.comparison_model import COL_ACTUAL, COL_EXPECTED, ComparisonModel
from app.models.fields_model import SpanRole, FieldsModel, field_spans
from app.models.tcb_model import TcbModel, tcb_rows
from app.models.tdx_tcb_model import TdxTcbModel, tdx_tcb_rows
from app.views.widgets.drop_table import DataTable
from app.views.widgets.hex_view import HexView

from app.views.inspector_work import most_serious_first

if TYPE_CHECKING:
    from app.views.inspector_work import Inspection
    from core.attestation.verdict import Check

NOTE_STYLE = "color: #5b6577; padding: 2px 2px 6px 2px;"


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(NOTE_STYLE)
    return label


def check_html(check: Check) -> str:
    import html

    e = html.escape
    parts = [f"<p><b style='color:{STATUS_COLOURS[check.status]}'>{e(STATUS_TEXT[check.status])}</b>"
             f" &nbsp;<b>{e(check.id)}</b></p><p>{e(check.explanation)}</p>"]
    for title, value in (("Expected", check.expected), ("Actual", check.actual)):
        if value:
            parts.append(f"<p><b>{title}:</b> <code>{e(value)}</code></p>")
    return "".join(parts)


class ChecksPanel(QSplitter):
    """The checks in verdict order; the selected one's explanation is shown in full below."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.model = ChecksModel(self)
        self.table = DataTable("No verdict yet.")
        self.table.setModel(self.model)
        for column, width in ((COL_STATUS, 100), (COL_ID, 190), (COL_STAGE, 100)):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setSectionResizeMode(COL_EXPLANATION, QHeaderView.ResizeMode.Stretch)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText("Select a check to read its explanation in full.")
        self.addWidget(self.table)
        self.addWidget(self.details)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 1)
        self.table.selectionModel().selectionChanged.connect(self._selected)

    def show_checks(self, checks: list[Check]) -> None:
        self.model.set_rows(checks)
        self.details.clear()
        if checks:
            worst = most_serious_first([c for c in checks if c.status.value == "fail"])
            row = self.model.row_of(worst[0].id) if worst else 0
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def selected_check(self) -> Check | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.check(rows[0].row()) if rows else None

    def _selected(self, *_args: Any) -> None:
        check = self.selected_check()
        self.details.setHtml(check_html(check) if check is not None else "")


class FieldsPanel(QSplitter):
    """Decoded fields grouped as the core describes them; selecting one highlights its bytes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.model = FieldsModel(self)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.header().resizeSection(0, 150)
        self.hex = HexView()
        self.span_label = _note("Select a field to highlight its bytes.")
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.span_label)
        layout.addWidget(self.hex, 1)
        self.addWidget(self.tree)
        self.addWidget(right)
        # the hex dump has a fixed width (offset, 16 bytes, ASCII): give it what it needs first
        self.hex.setMinimumWidth(self.hex.fontMetrics().horizontalAdvance("0" * 76) + 30)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 0)
        self.tree.selectionModel().selectionChanged.connect(self._selected)

    def show_inspection(self, inspection: Inspection) -> None:
        self.model.set_fields(list(inspection.fields), field_spans(inspection.evidence))
        self.tree.expandAll()
        self.hex.set_data(inspection.evidence.raw)
        self.span_label.setText(f"{len(inspection.evidence.raw)} bytes of {inspection.evidence.source}. "
                                "Select a field to highlight its bytes.")

    def clear(self) -> None:
        self.model.set_fields([], {})
        self.hex.set_data(b"")

    def select_field(self, name: str) -> bool:
        index = self.model.find(name)
        if not index.isValid():
            return False
        self.tree.setCurrentIndex(index)
        return True

    def _selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        span = indexes[0].data(SpanRole) if indexes else None
        if not span:
            self.hex.clear_highlight()
            if indexes:
                self.span_label.setText(f"“{indexes[0].siblingAtColumn(0).data()}” is derived, "
                                        "not a byte range of the evidence.")
            return
        start, end = span
        self.hex.highlight(start, end)
        self.span_label.setText(f"“{indexes[0].siblingAtColumn(0).data()}”: bytes 0x{start:03x}–"
                                f"0x{end - 1:03x} ({end - start} bytes), highlighted below.")


class TcbPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TcbModel(self)
        self.tdx_model = TdxTcbModel(self)
        self.note = _note("")
        self.table = DataTable("The TCB breakdown appears once evidence is verified.")
        self.table.setModel(self.model)
        self.table.setColumnWidth(0, 150)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)

    def clear(self) -> None:
        self.model.set_rows([])
        self.tdx_model.set_rows([])
        self.note.setText("")

    def show_inspection(self, inspection: Inspection) -> None:
        from core.attestation.snp.policy import SnpPolicy

        if inspection.evidence.platform == "tdx":
            self._show_tdx(inspection)
            return
        self.tdx_model.set_rows([])
        self.table.setModel(self.model)
        policy = inspection.policy if isinstance(inspection.policy, SnpPolicy) else None
        self.model.set_rows(tcb_rows(inspection.evidence.report, policy))
        self.note.setText("Security patch levels per component. The VCEK is derived for the reported "
                          "TCB; the policy's minimums apply to it (and to the launch TCB)."
                          + ("" if policy else " No policy given: minimums are not checked."))

    def _show_tdx(self, inspection: Inspection) -> None:
        from core.attestation.tdx.policy import TdxPolicy

        policy = inspection.policy if isinstance(inspection.policy, TdxPolicy) else None
        tcb = inspection.tdx_tcb
        level = tcb.platform_level if tcb is not None else None
        self.model.set_rows([])
        self.table.setModel(self.tdx_model)
        self.tdx_model.set_rows(tdx_tcb_rows(inspection.evidence.quote.body.tee_tcb_svn,
                                             policy.minimum_tee_tcb_svn if policy else None,
                                             level.tdx_tcb_components if level else None))
        if level is not None:
            where = (f"“TCB level” is tdxtcbcomponents of the level the platform matched in Intel's TCB "
                     f"Info ({level.tcb_status}, {level.tcb_date:%Y-%m-%d}).")
        else:
            where = ("No Intel TCB Info matched this quote, so the TCB level column is empty; add "
                     "collateral or fetch it in the Collateral view.")
        self.note.setText("TEE_TCB_SVN byte by byte. " + where
                          + ("" if policy else " No policy given: minimum_tee_tcb_svn is not checked."))


class CertificatesPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CertChainModel(self)
        self.note = _note("")
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().resizeSection(0, 200)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)

    def show_inspection(self, inspection: Inspection) -> None:
        self.model.set_certificates(inspection.certificates, inspection.at)
        self.tree.expandAll()
        for column in range(1, self.model.columnCount()):
            self.tree.resizeColumnToContents(column)
        count = self.model.rowCount()
        self.note.setText(
            f"Validity judged at {inspection.at:%Y-%m-%d %H:%M} UTC. Pinned AMD roots ship with the app "
            "and are used even when not listed here." if count else
            "No certificates given or carried: add the VCEK (or VLEK) and its chain.")


class ComparisonPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ComparisonModel(self)
        self.note = _note("")
        self.table = DataTable("Open a policy file to compare what it expects with what the evidence says.")
        self.table.setModel(self.model)
        self.table.setWordWrap(False)
        for column, width in ((0, 170), (1, 80), (COL_EXPECTED, 270)):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setSectionResizeMode(COL_ACTUAL, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)

    def show_inspection(self, inspection: Inspection) -> None:
        verdict = inspection.verdict
        self.model.set_rows(policy_comparison(verdict.checks) if verdict.policy_applied else [])
        self.note.setText(f"Policy {inspection.inputs.policy.name}: expected value and what the evidence "
                          "shows, per check." if inspection.inputs.policy else "No policy chosen.")
