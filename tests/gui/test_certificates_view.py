"""The Certificates view against a real CA: init, issue, revoke, CRL and bundle export."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from PySide6.QtWidgets import QDialogButtonBox

from app.asyncio_support import wait_until
from app.models.certs_model import COL_STATUS
from app.views.cert_dialogs import InitCADialog, IssueDialog, RevokeDialog
from app.views.certificates_view import CertificatesView
from tests.gui.helpers import answer_file_dialog, dialog_gone, next_dialog


@pytest.fixture
def view(qtbot, unlocked):
    view = CertificatesView(unlocked)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    return view


def _cns(view: CertificatesView) -> list[str]:
    return sorted(view.model.record(r).common_name for r in range(view.model.rowCount()))


async def _init(view: CertificatesView, name: str = "Test Root") -> None:
    await wait_until(lambda: view.init_action.isEnabled())
    view.init_action.trigger()
    dialog = await next_dialog(InitCADialog)
    dialog.common_name.setText(name)
    dialog.accept()
    await wait_until(lambda: _cns(view) == [name] and f"Initialised “{name}”" in view.bar.text())


def test_locked_and_uninitialised_states(qtbot, session, arun):
    view = CertificatesView(session)
    qtbot.addWidget(view)
    assert view.stack.currentWidget() is view.locked_panel
    session.create_keystore("correct horse battery staple")

    async def body():
        await wait_until(lambda: view.init_action.isEnabled())

    arun(body())
    assert view.stack.currentIndex() == 1
    assert not view.issue_action.isEnabled() and not view.crl_action.isEnabled()
    assert view.model.rowCount() == 0


def test_init_issue_revoke_and_export_crl(view, arun, tmp_path):
    out = tmp_path / "out"
    out.mkdir()

    async def body():
        await _init(view)
        assert not view.init_action.isEnabled() and view.issue_action.isEnabled()
        # one through the dialog ...
        view.issue_action.trigger()
        dialog = await next_dialog(IssueDialog)
        dialog.common_name.setText("cvms.local")
        dialog.sans.setText("localhost, 127.0.0.1")
        dialog.folder.setText(str(out))
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
        await dialog_gone(dialog)
        await wait_until(lambda: "cvms.local" in _cns(view))
        # ... one through the path-based entry point
        await view.issue_with("alice-client", (), "client", 30, out)
        await wait_until(lambda: len(_cns(view)) == 3)
        view.select(_serial(view, "alice-client"))
        view.revoke_action.trigger()
        revoke = await next_dialog(RevokeDialog)
        revoke.reason.setCurrentIndex(revoke.reason.findData("key-compromise"))
        revoke.accept()
        await wait_until(lambda: _status(view, "alice-client") == "revoked")
        assert not view.revoke_action.isEnabled()  # already revoked
        await view.export_crl_to(tmp_path / "ca.crl")

    arun(body())
    assert _cns(view) == ["Test Root", "alice-client", "cvms.local"]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["alice-client.crt.pem", "alice-client.key.pem", "cvms.local.crt.pem", "cvms.local.key.pem"]
    assert stat.S_IMODE((out / "cvms.local.key.pem").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((out / "cvms.local.crt.pem").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    crl = x509.load_der_x509_crl((tmp_path / "ca.crl").read_bytes())
    ca_cert = view.session.ca.certificate()
    assert crl.is_signature_valid(ca_cert.public_key())
    revoked_serial = int(_serial(view, "alice-client"), 16)
    entry = crl.get_revoked_certificate_by_serial_number(revoked_serial)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    assert "Published CRL number 1" in view.bar.text()
    actions = [e.action for e in view.session.audit.events()]
    assert actions.count("ca.issue") == 2 and "ca.revoke" in actions and "ca.crl" in actions


def _serial(view: CertificatesView, cn: str) -> str:
    return next(view.model.record(r).serial for r in range(view.model.rowCount())
                if view.model.record(r).common_name == cn)


def _status(view: CertificatesView, cn: str) -> str:
    row = next(r for r in range(view.model.rowCount()) if view.model.record(r).common_name == cn)
    return view.model.index(row, COL_STATUS).data()


def test_issue_refuses_to_overwrite_files(view, arun, tmp_path):
    (tmp_path / "web.crt.pem").write_text("old")

    async def body():
        await _init(view)
        await view.issue_with("web", (), "server", 30, tmp_path)

    arun(body())
    assert view.bar.kind == "error" and "already exist" in view.bar.text()
    assert (tmp_path / "web.crt.pem").read_text() == "old"


def test_bad_san_is_shown_in_place(view, arun, tmp_path):
    async def body():
        await _init(view)
        await view.issue_with("web", ("DNS:bad name with spaces",), "server", 30, tmp_path)

    arun(body())
    assert view.bar.kind == "error" and view.bar.text()
    assert _cns(view) == ["Test Root"]


def test_issue_dialog_validates_before_closing(qtbot, tmp_path):
    dialog = IssueDialog()
    qtbot.addWidget(dialog)
    dialog._check()
    assert dialog.error.text() == "Enter a common name."
    dialog.common_name.setText("x")
    dialog.folder.setText(str(tmp_path / "missing"))
    dialog._check()
    assert "does not exist" in dialog.error.text() and dialog.result() == 0


def test_export_pem_bundle(view, arun, tmp_path):
    async def body():
        await _init(view)
        await view.issue_with("web", (), "server", 30, tmp_path)
        await wait_until(lambda: len(_cns(view)) == 2)
        view.select(_serial(view, "web"))
        view.bundle_action.trigger()
        await answer_file_dialog(tmp_path / "web.bundle.pem")
        await wait_until(lambda: (tmp_path / "web.bundle.pem").exists())

    arun(body())
    certs = x509.load_pem_x509_certificates((tmp_path / "web.bundle.pem").read_bytes())
    assert [c.subject.rfc4514_string() for c in certs][0].endswith("CN=web")
    assert certs[1] == view.session.ca.certificate()
