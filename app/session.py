"""The façade the views talk to: current workspace, keystore and CA, core events as Qt signals.

Every public method here is synchronous and thread-safe (one lock around the keystore and the CA,
which keep in-memory state), so views run them off the GUI thread through ``Op`` and never block.
Core calls back (``on_event``/``audit``) from whatever thread did the work; those callbacks append
to the audit log there and re-emit as a Qt signal, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

from app.files import (key_name_from_path, read_key_file, safe_file_stem, unique_name, write_file,
                       write_new_files)
from app.signals import emit
from core.errors import KeystoreLocked, NotFound

if TYPE_CHECKING:
    from core.ca.authority import CertificateAuthority, CertRecord
    from core.keys.keystore import KdfParams, KeyEntry, Keystore
    from core.keys.types import KeyType
    from core.workspace.audit import AuditLog, ChainReport
    from core.workspace.manager import WorkspaceInfo, WorkspaceManager
    from core.workspace.workspace import Workspace

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_WORKSPACE = "default"


class Session(QObject):
    """One open workspace at a time, its keystore once unlocked, and its local CA."""

    workspaceChanged = Signal(str)
    workspacesChanged = Signal()
    keysChanged = Signal()
    certsChanged = Signal()
    auditChanged = Signal()
    lockedChanged = Signal(bool)
    chainChecked = Signal(object)  # core.workspace.audit.ChainReport
    _coreEvent = Signal(str)

    def __init__(self, manager: WorkspaceManager | None = None, *, kdf: KdfParams | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        # None until ``set_manager``: the window can paint before core (SQLAlchemy ...) is imported
        self._manager = manager
        self.kdf = kdf  # None: the keystore's default (tests pass KdfParams.FAST)
        self._lock = threading.RLock()
        self._workspace: Workspace | None = None
        self._keystore: Keystore | None = None
        self._ca: CertificateAuthority | None = None
        self.last_chain_report: ChainReport | None = None
        self._coreEvent.connect(self._dispatch_core_event)

    # --- workspaces -------------------------------------------------------------------

    @property
    def manager(self) -> WorkspaceManager:
        if self._manager is None:
            raise NotFound("the Prism home is still being opened; try again in a moment")
        return self._manager

    def set_manager(self, manager: WorkspaceManager) -> None:
        self._manager = manager
        emit(self.workspacesChanged)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            raise NotFound("no workspace is open; create or choose one in the toolbar")
        return self._workspace

    @property
    def has_workspace(self) -> bool:
        return self._workspace is not None

    @property
    def workspace_name(self) -> str:
        return self._workspace.name if self._workspace is not None else ""

    @property
    def audit(self) -> AuditLog:
        return self.workspace.audit

    def workspaces(self) -> list[WorkspaceInfo]:
        return [] if self._manager is None else self._manager.list()

    def workspace_names(self) -> list[str]:
        return [info.name for info in self.workspaces()]

    def open_workspace(self, name: str, *, create: bool = False) -> None:
        self.adopt_workspace(self.manager.open(name, create=create))

    def create_workspace(self, name: str) -> None:
        """Create ``name`` and switch to it."""
        self.adopt_workspace(self.manager.create(name))

    def adopt_workspace(self, workspace: Workspace) -> None:
        """Make an already opened workspace the current one (closing the previous one)."""
        with self._lock:
            self._close_workspace()
            self._workspace = workspace
        self.last_chain_report = None
        emit(self.workspacesChanged)
        emit(self.workspaceChanged, workspace.name)
        emit(self.lockedChanged, True)

    def rename_workspace(self, old: str, new: str) -> None:
        reopen = self.workspace_name == old
        with self._lock:
            if reopen:
                self._close_workspace()
            try:
                self.manager.rename(old, new)
            finally:
                if reopen:
                    target = new if self.manager.exists(new) else old
                    self._workspace = self.manager.open(target)
        emit(self.workspacesChanged)
        if reopen:
            emit(self.workspaceChanged, self.workspace_name)
            emit(self.lockedChanged, True)

    def delete_workspace(self, name: str) -> str:
        """Delete ``name``; if it was open, open another (creating "default" if none is left)."""
        was_open = self.workspace_name == name
        with self._lock:
            if was_open:
                self._close_workspace()
            self.manager.delete(name)
        emit(self.workspacesChanged)
        if was_open:
            remaining = self.workspace_names()
            self.open_workspace(remaining[0] if remaining else DEFAULT_WORKSPACE, create=not remaining)
        return self.workspace_name

    def close(self) -> None:
        with self._lock:
            self._close_workspace()
            if self._manager is not None:
                self._manager.close()

    def _close_workspace(self) -> None:
        self._lock_keystore()
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    # --- keystore ----------------------------------------------------------------------

    @property
    def is_locked(self) -> bool:
        return self._keystore is None

    def keystore_state(self) -> str:
        """"missing", "passphrase", "keyring" or "damaged" for the open workspace's keystore."""
        from core.errors import PrismError
        from core.keys.keystore import Keystore

        path = self.workspace.keystore_path
        if not Keystore.exists(path):
            return "missing"
        try:
            return Keystore.mode(path)
        except PrismError:  # a damaged header: unlocking will say exactly what is wrong
            return "damaged"

    @staticmethod
    def keyring_usable() -> bool:
        from core.keys.keystore import keyring_usable

        return keyring_usable()

    def unlock(self, passphrase: str | None = None) -> None:
        from core.keys.keystore import Keystore

        with self._lock:
            workspace = self.workspace
            keystore = Keystore.open(workspace.keystore_path, passphrase=passphrase,
                                     on_event=self._hook_for(workspace))
            try:
                # keys a crash left without their audit event get a key.recovered event
                workspace.reconcile_keystore(keystore)
            except BaseException:
                keystore.close()
                raise
            self._attach_keystore(workspace, keystore)
        emit(self.lockedChanged, False)
        emit(self.keysChanged)
        emit(self.certsChanged)

    def create_keystore(self, passphrase: str | None = None, *, use_keyring: bool = False) -> None:
        from core.keys.keystore import Keystore

        kwargs: dict[str, Any] = {} if self.kdf is None else {"kdf": self.kdf}
        with self._lock:
            workspace = self.workspace
            keystore = Keystore.create(workspace.keystore_path, passphrase=passphrase,
                                       use_keyring=use_keyring, on_event=self._hook_for(workspace),
                                       **kwargs)
            self._attach_keystore(workspace, keystore)
        emit(self.lockedChanged, False)
        emit(self.keysChanged)
        emit(self.certsChanged)

    def lock(self) -> None:
        with self._lock:
            self._lock_keystore()
        emit(self.lockedChanged, True)
        emit(self.keysChanged)
        emit(self.certsChanged)

    def _attach_keystore(self, workspace: Workspace, keystore: Keystore) -> None:
        from core.ca.authority import CertificateAuthority

        self._lock_keystore()
        self._keystore = keystore
        self._ca = CertificateAuthority(workspace.store, keystore, audit=self._hook_for(workspace),
                                        workspace_name=workspace.name)

    def _lock_keystore(self) -> None:
        if self._keystore is not None:
            self._keystore.close()
        self._keystore = None
        self._ca = None

    @property
    def keystore(self) -> Keystore:
        if self._keystore is None:
            raise KeystoreLocked("the keystore is locked; unlock it first")
        return self._keystore

    def list_keys(self) -> list[KeyEntry]:
        with self._lock:
            return [] if self._keystore is None else self._keystore.list()

    def generate_key(self, name: str, key_type: KeyType | str, label: str = "") -> KeyEntry:
        from core.keys.types import KeyType

        with self._lock:
            return self.keystore.generate(name, KeyType(key_type), label=label)

    def import_key(self, name: str, data: bytes, *, password: bytes | None = None,
                   label: str = "") -> KeyEntry:
        with self._lock:
            return self.keystore.import_key(name, data, password=password, label=label)

    def import_key_file(self, path: Path, *, name: str | None = None,
                        password: bytes | None = None) -> KeyEntry:
        """Import a key file, naming it after the file (made unique) unless ``name`` is given."""
        data = read_key_file(Path(path))
        with self._lock:
            taken = {entry.name for entry in self.keystore.list()}
            chosen = name or unique_name(key_name_from_path(Path(path)), taken)
            return self.keystore.import_key(chosen, data, password=password)

    def delete_key(self, name: str) -> None:
        with self._lock:
            self.keystore.delete(name)

    def export_public(self, name: str, fmt: str) -> str:
        with self._lock:
            return self.keystore.export_public(name, fmt)

    def export_private_pkcs8(self, name: str, passphrase: bytes, target: Path) -> Path:
        with self._lock:
            files = self.keystore.export_private(name, "pkcs8", passphrase=passphrase)
        write_file(Path(target), files["key.pem"], secret=True)
        return Path(target)

    def export_private_cocos(self, name: str, directory: Path) -> list[Path]:
        """The cocos-cli layout (unencrypted private.pem + public.pem); the caller confirmed."""
        directory = Path(directory)
        with self._lock:
            files = self.keystore.export_private(name, "cocos-cli", confirm_plaintext=True)
        return write_new_files(directory, files, secret_names={"private.pem"})

    def sign_role(self, name: str, role: str) -> str:
        with self._lock:
            return self.keystore.sign_role(name, role)

    # --- certificate authority -----------------------------------------------------------

    @property
    def ca(self) -> CertificateAuthority:
        if self._ca is None:
            raise KeystoreLocked("the CA key lives in the keystore: unlock the keystore first")
        return self._ca

    def ca_initialised(self) -> bool:
        with self._lock:
            return self._ca is not None and self._ca.is_initialised

    def init_ca(self, common_name: str | None = None, days: int = 3650) -> CertRecord:
        with self._lock:
            return self.ca.init(common_name or None, days=days)

    def list_certs(self) -> list[CertRecord]:
        with self._lock:
            if self._ca is None or not self._ca.is_initialised:
                return []
            return self._ca.list()

    def issue_cert(self, common_name: str, *, sans: Iterable[str] = (), usage: str = "server",
                   days: int = 397, out_dir: Path | None = None) -> tuple[CertRecord, list[Path]]:
        """Issue a certificate with a fresh key; write cert and key into ``out_dir`` if given."""
        with self._lock:
            issued = self.ca.issue(common_name, sans=tuple(sans), usage=usage, days=days)
        written: list[Path] = []
        if out_dir is not None:
            base = safe_file_stem(common_name)
            files = {f"{base}.crt.pem": issued.cert_pem}
            if issued.key_pem is not None:
                files[f"{base}.key.pem"] = issued.key_pem
            written = write_new_files(Path(out_dir), files, secret_names={f"{base}.key.pem"})
        return issued.record, written

    def revoke_cert(self, serial: str, reason: str = "unspecified") -> CertRecord:
        with self._lock:
            return self.ca.revoke(serial, reason)

    def export_crl(self, target: Path, days: int = 7) -> int:
        with self._lock:
            number, der = self.ca.publish_crl(days=days)
        write_file(Path(target), der)
        return number

    def export_pem_bundle(self, serial: str, target: Path) -> Path:
        with self._lock:
            bundle = self.ca.export_pem_bundle(serial)
        write_file(Path(target), bundle)
        return Path(target)

    # --- audit ---------------------------------------------------------------------------

    def verify_chain(self) -> ChainReport:
        """Runs in a worker; the result is announced through ``chainChecked`` on the GUI thread."""
        report = self.workspace.audit.verify_chain()
        self.last_chain_report = report
        return report

    def announce_chain(self, report: ChainReport) -> None:
        self.last_chain_report = report
        emit(self.chainChecked, report)

    def count_events(self) -> int:
        return self.workspace.audit.count()

    # --- core events -> Qt signals -------------------------------------------------------

    def _hook_for(self, workspace: Workspace) -> Callable[[str, str, dict], None]:
        """on_event/audit callback bound to ``workspace`` (not to whichever is current later)."""

        def hook(action: str, subject: str, details: dict | None = None) -> None:
            workspace.audit_hook(action, subject, details or {})
            # emitted from a worker thread: Qt queues it to the GUI thread for the slot
            emit(self._coreEvent, action)

        return hook

    @Slot(str)
    def _dispatch_core_event(self, action: str) -> None:
        if action.startswith(("key.", "keystore.")):
            emit(self.keysChanged)
        if action.startswith("ca."):
            emit(self.certsChanged)
        emit(self.auditChanged)

    def notify_audit(self) -> None:
        """For callers that appended to the audit log outside a core hook."""
        emit(self.auditChanged)
