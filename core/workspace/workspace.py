"""One workspace: a folder holding its own store, audit log, keystore, cache and results.

Nothing is shared between workspaces; every path below hangs off the workspace's folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from core.errors import BadInput
from core.workspace.audit import AuditLog
from core.workspace.store import Store

if TYPE_CHECKING:
    from core.keys.entries import KeyEntry
    from core.keys.keystore import Keystore

#: 1-64 characters of letters, digits, '.', '_' and '-', not starting with '.' (use fullmatch)
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
STORE_NAME = "workspace.sqlite"
KEYSTORE_NAME = "keystore.prks"
CACHE_NAME = "cache"
RESULTS_NAME = "results"


def check_name(name: object) -> str:
    """The workspace name itself if it is acceptable, else BadInput saying what is wrong."""
    if not isinstance(name, str):
        raise BadInput(f"a workspace name must be text, not {type(name).__name__}")
    if NAME_PATTERN.fullmatch(name) is None:
        raise BadInput(
            f"{name!r} is not a usable workspace name: use 1 to 64 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return name


class Workspace:
    """An open workspace. Obtain one from WorkspaceManager.create() or .open(); close() it after."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        actor: str,
        on_close: Callable[[Workspace], None] | None = None,
    ) -> None:
        self.name = check_name(name)
        self.path = Path(path)
        self._on_close = on_close
        self._closed = False
        self.cache_dir.mkdir(mode=0o700, exist_ok=True)
        self.store = Store(self.path / STORE_NAME)
        try:
            self.audit = AuditLog(self.store, actor)
        except BaseException:
            self.store.close()
            raise

    @property
    def keystore_path(self) -> Path:
        return self.path / KEYSTORE_NAME

    @property
    def cache_dir(self) -> Path:
        return self.path / CACHE_NAME

    @property
    def results_dir(self) -> Path:
        return self.path / RESULTS_NAME

    @property
    def closed(self) -> bool:
        return self._closed

    def audit_hook(self, action: str, subject: str, details: Mapping[str, Any] | None = None) -> None:
        """Append to this workspace's audit log; pass as ``on_event`` to the keystore and CA."""
        self.audit.append(action, subject, details)

    def open_keystore(self, *, passphrase: str | None = None) -> Keystore:
        """Unlock this workspace's keystore, wired to its audit log, with the log reconciled.

        The passphrase is ignored for a keyring keystore. Every key the log does not know about
        (a crash between the keystore write and its event) gets a ``key.recovered`` event.
        """
        from core.keys.keystore import Keystore

        keystore = Keystore.open(self.keystore_path, passphrase=passphrase, on_event=self.audit_hook)
        try:
            self.reconcile_keystore(keystore)
        except BaseException:
            keystore.close()
            raise
        return keystore

    def reconcile_keystore(self, keystore: Keystore) -> list[KeyEntry]:
        """Append ``key.recovered`` for each key of ``keystore`` without an event; those keys."""
        from core.keys import reconcile

        known = ((event.action, event.subject, event.details) for event in self.audit.events(action_prefix="key."))
        missing = reconcile.unrecorded(keystore.list(), known)
        for entry in missing:
            self.audit.append(reconcile.RECOVERED, entry.name, reconcile.recovered_details(entry))
        return missing

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.store.close()
        if self._on_close is not None:
            self._on_close(self)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.name!r}, {str(self.path)!r}{', closed' if self._closed else ''})"
