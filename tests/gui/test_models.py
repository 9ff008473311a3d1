"""The item models, checked by Qt's model tester and by what they show (no widgets)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from app.models import audit_model, certs_model, keys_model
from app.models.audit_model import AuditModel
from app.models.certs_model import CertsModel
from app.models.keys_model import KeysModel


def test_keys_model_rows_roles_and_reset(qtmodeltester, unlocked, qtbot):
    unlocked.generate_key("alice", "ed25519", "ours")
    unlocked.generate_key("bob", "ecdsa-p256")
    model = KeysModel()
    qtmodeltester.check(model)
    with qtbot.waitSignal(model.modelReset):
        model.set_rows(unlocked.list_keys())
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.columnCount() == 5
    alice = model.index(0, keys_model.COL_NAME)
    assert alice.data() == "alice"
    entry = alice.data(keys_model.EntryRole)
    assert entry.name == "alice" and len(entry.fingerprint) == 64
    assert model.index(0, keys_model.COL_TYPE).data() == "Ed25519"
    assert model.index(1, keys_model.COL_TYPE).data() == "ECDSA P-256"
    fingerprint = model.index(0, keys_model.COL_FINGERPRINT)
    assert fingerprint.data(Qt.ItemDataRole.ToolTipRole) == entry.fingerprint
    assert fingerprint.data().replace(" ", "").startswith(entry.fingerprint[:16])
    assert model.index(0, keys_model.COL_LABEL).data() == "ours · participant"
    assert model.headerData(keys_model.COL_FINGERPRINT, Qt.Orientation.Horizontal).startswith("Fingerprint")
    assert model.rowCount(alice) == 0  # a table: no children
    assert model.row_of("bob") == 1 and model.row_of("nobody") == -1


def test_certs_model_statuses(qtmodeltester, unlocked):
    ca = unlocked.ca
    ca.init("Test CA")
    server = ca.issue("server.local", sans=("localhost",), usage="server")
    client = ca.issue("client-1", usage="client")
    ca.revoke(client.record.serial, "key-compromise")
    model = CertsModel()
    model.set_rows(unlocked.list_certs())
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    by_cn = {model.index(r, certs_model.COL_CN).data(): r for r in range(model.rowCount())}
    assert set(by_cn) == {"Test CA", "server.local", "client-1"}
    revoked = by_cn["client-1"]
    assert model.index(revoked, certs_model.COL_STATUS).data() == "revoked"
    assert model.index(revoked, certs_model.COL_REASON).data() == "key-compromise"
    assert model.index(by_cn["Test CA"], certs_model.COL_USAGE).data() == "ca"
    row = by_cn["server.local"]
    assert model.index(row, certs_model.COL_STATUS).data() == "valid"
    assert model.index(row, certs_model.COL_SERIAL).data(Qt.ItemDataRole.ToolTipRole) == server.record.serial
    assert "DNS:localhost" in model.index(row, certs_model.COL_CN).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(row, 0).data(certs_model.RecordRole).serial == server.record.serial


def _fill(session, n: int) -> None:
    for i in range(n):
        session.audit.append("test.event", f"subject-{i}", {"i": i, "parity": "even" if i % 2 == 0 else "odd"})


def test_audit_model_pages_and_filters(qtmodeltester, session):
    _fill(session, 250)  # plus the workspace.create event
    checked = AuditModel(session.audit, page_size=100)
    qtmodeltester.check(checked)  # the tester itself pages through everything
    assert checked.rowCount() == 251
    model = AuditModel(session.audit, page_size=100)  # a fresh one, not paged by the tester
    assert model.total == 251
    assert model.rowCount() == 100  # only the first page is loaded
    assert model.canFetchMore(QModelIndex())
    newest = model.index(0, audit_model.COL_SEQ).data()
    assert newest == 251  # newest first
    assert model.index(0, audit_model.COL_SUBJECT).data() == "subject-249"
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 200
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 251 and not model.canFetchMore(QModelIndex())
    assert model.index(250, audit_model.COL_ACTION).data() == "workspace.create"

    model.set_filter(text="SUBJECT-24")  # case-insensitive, done in SQL
    subjects = {model.index(r, audit_model.COL_SUBJECT).data() for r in range(model.rowCount())}
    assert subjects == {"subject-24"} | {f"subject-{i}" for i in range(240, 250)}
    model.set_filter(action_prefix="workspace.")
    assert model.total == 1 and model.index(0, audit_model.COL_ACTION).data() == "workspace.create"
    model.set_filter(text="odd", action_prefix="test.")
    assert model.total == 125
    record = model.index(0, 0).data(audit_model.RecordRole)
    assert record.details["parity"] == "odd"
    assert "parity=odd" in model.index(0, audit_model.COL_DETAILS).data()


def test_audit_model_without_source_is_empty(qtmodeltester):
    model = AuditModel(None)
    qtmodeltester.check(model)
    assert model.rowCount() == 0 and model.total == 0 and not model.canFetchMore(QModelIndex())


def test_row_table_base_replaces_updates_and_appends_rows(qtmodeltester, qtbot):
    from app.models.table_base import OBJECT_ROLE, RowTableModel

    class Pairs(RowTableModel[tuple[str, int]]):
        HEADERS = ("Name", "Count")

        def display(self, value: tuple[str, int], column: int) -> str | None:
            return value[0] if column == 0 else str(value[1])

        def tooltip(self, value: tuple[str, int], column: int) -> str | None:
            return f"{value[0]} has {value[1]}" if column == 1 else None

    model = Pairs()
    with qtbot.waitSignal(model.modelReset):
        model.set_rows([("a", 1), ("b", 2), ("c", 3)])
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (3, 2)
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Count"
    assert model.headerData(2, Qt.Orientation.Horizontal) is None
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.index(1, 1).data() == "2" and model.index(1, 0).data(OBJECT_ROLE) == ("b", 2)
    assert model.index(1, 1).data(Qt.ItemDataRole.ToolTipRole) == "b has 2"
    assert model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole) is None
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.find_row(lambda v: v[0] == "c") == 2 and model.find_row(lambda v: v[0] == "z") == -1

    copy = model.rows()
    copy.clear()  # a copy: the model keeps its rows
    assert model.rowCount() == 3

    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=None: changed.append((a.row(), a.column(), b.row(), b.column())))
    reset: list[bool] = []
    model.modelReset.connect(lambda: reset.append(True))
    model.update_row(1, ("b", 20))
    assert changed == [(1, 0, 1, 1)] and not reset  # one row repainted, no reset
    assert model.row(1) == ("b", 20) and model.index(1, 1).data() == "20"

    with qtbot.waitSignal(model.rowsInserted) as inserted:
        model.append_rows([("d", 4), ("e", 5)])
    assert inserted.args[1:] == [3, 4]
    model.append_rows([])  # nothing to insert: no signal, no change
    assert model.rowCount() == 5 and model.row(4) == ("e", 5) and not reset
    qtmodeltester.check(model)
