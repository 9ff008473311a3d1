"""All workspaces under one Prism home: list, create, open, rename, delete.

Workspace creation and renaming are recorded in the workspace's own audit log; deletion,
which takes that log with it, is recorded in the home audit log (``home.sqlite``).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from core.errors import AlreadyExists, NotFound, PrismError, Refused, WorkspaceError
from core.keys.keyfile import read_header
from core.keys.keyring_store import delete_master_key
from core.paths import resolve_home
from core.workspace.audit import AuditLog
from core.workspace.audit_chain import check_text, format_time
from core.workspace.store import Store
from core.workspace.workspace import KEYSTORE_NAME, NAME_PATTERN, STORE_NAME, Workspace, check_name

__all__ = ["WorkspaceInUse", "WorkspaceInfo", "WorkspaceManager"]

log = logging.getLogger(__name__)

WORKSPACES_DIR = "workspaces"
HOME_STORE_NAME = "home.sqlite"
HOME_ANCHOR_NAME = "home.audit.head"
MARKER_NAME = "workspace.json"
MARKER_FORMAT = "prism-workspace/1"
_TOMBSTONE_PREFIX = ".deleting-"  # a name no workspace can have (names never start with '.')


class WorkspaceInUse(Refused):
    code = "workspace-in-use"


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    name: str
    path: Path
    created_at: datetime  # UTC
    has_keystore: bool


class WorkspaceManager:
    """Workspaces live in ``home/workspaces/<name>``; ``home`` defaults to core.paths.resolve_home()."""

    def __init__(self, home: Path | None = None, *, actor: str | None = None) -> None:
        self._home = resolve_home(home)
        self._actor = check_text("actor", actor if actor is not None else _login_name())
        self._open: dict[str, int] = {}  # names this manager has open -> how many times
        self._home_store: Store | None = None
        self._home_audit: AuditLog | None = None

    @property
    def home(self) -> Path:
        return self._home

    @property
    def actor(self) -> str:
        return self._actor

    @property
    def workspaces_dir(self) -> Path:
        return self._home / WORKSPACES_DIR

    @property
    def home_audit(self) -> AuditLog:
        """The home-level audit log (created on first use)."""
        if self._home_audit is None:
            self._home.mkdir(mode=0o700, parents=True, exist_ok=True)
            store = Store(self._home / HOME_STORE_NAME)
            try:
                self._home_audit = AuditLog(store, self._actor, head_path=self._home / HOME_ANCHOR_NAME)
            except BaseException:
                store.close()
                raise
            self._home_store = store
        return self._home_audit

    def list(self) -> list[WorkspaceInfo]:
        """Every workspace, sorted by name."""
        root = self.workspaces_dir
        if not root.is_dir():
            return []
        infos = []
        for entry in sorted(root.iterdir(), key=lambda item: item.name):
            if _is_name(entry.name) and _is_workspace(entry):
                infos.append(WorkspaceInfo(
                    name=entry.name,
                    path=entry,
                    created_at=_created_at(entry),
                    has_keystore=(entry / KEYSTORE_NAME).is_file(),
                ))
        return infos

    def exists(self, name: str) -> bool:
        return _is_workspace(self.workspaces_dir / check_name(name))

    def create(self, name: str) -> Workspace:
        """Create and open a new workspace; AlreadyExists if the name is taken."""
        path = self.workspaces_dir / check_name(name)
        try:
            self.workspaces_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.mkdir(mode=0o700)
        except FileExistsError:
            if not _is_workspace(path):
                raise AlreadyExists(
                    f"{path} exists but is not a Prism workspace; move it away or choose another name"
                ) from None
            raise AlreadyExists(
                f"a workspace named {name!r} already exists; open it or choose another name"
            ) from None
        except OSError as exc:
            raise _create_error(name, exc) from exc
        workspace: Workspace | None = None
        try:
            _write_marker(path)
            workspace = self._open_path(name, path)
            workspace.audit.append("workspace.create", name, {"path": str(path)})
        except BaseException as exc:
            # leave no half-made workspace behind to show up in list()
            if workspace is not None:
                workspace.close()
            shutil.rmtree(path, ignore_errors=True)
            if isinstance(exc, OSError):
                raise _create_error(name, exc) from exc
            raise
        return workspace

    def open(self, name: str, *, create: bool = False) -> Workspace:
        """Open an existing workspace (NotFound), or create it when ``create`` is true."""
        path = self.workspaces_dir / check_name(name)
        if not _is_workspace(path):
            if create:
                return self.create(name)
            raise NotFound(f"there is no workspace named {name!r} in {self.workspaces_dir}; create it first")
        return self._open_path(name, path)

    def rename(self, old: str, new: str) -> None:
        """Rename a closed workspace; AlreadyExists if ``new`` is taken."""
        target = self.workspaces_dir / check_name(new)  # both names are checked before anything else
        source = self._existing_closed(old)
        if target.exists() or old == new:
            raise AlreadyExists(f"a workspace named {new!r} already exists; choose another name")
        try:
            os.rename(source, target)
        except OSError as exc:
            raise WorkspaceError(f"cannot rename workspace {old!r} to {new!r}: {exc.strerror or exc}") from exc
        with self._open_path(new, target) as workspace:
            workspace.audit.append("workspace.rename", new, {"from": old, "to": new})

    def delete(self, name: str) -> None:
        """Delete a closed workspace with everything in it, keystore included."""
        path = self._existing_closed(name)
        had_keystore = (path / KEYSTORE_NAME).is_file()
        # read before the files go: a keyring keystore's master key lives outside the workspace
        keyring_id = _keyring_id(path / KEYSTORE_NAME) if had_keystore else None
        # Renaming first makes the workspace vanish at once, even if removing its files fails.
        tombstone = self.workspaces_dir / f"{_TOMBSTONE_PREFIX}{name}-{secrets.token_hex(4)}"
        try:
            os.rename(path, tombstone)
        except OSError as exc:
            raise WorkspaceError(f"cannot delete workspace {name!r}: {exc.strerror or exc}") from exc
        details: dict[str, object] = {"had_keystore": had_keystore}
        if keyring_id is not None:
            details["keyring_secret_removed"] = delete_master_key(keyring_id)
        self.home_audit.append("workspace.delete", name, details)
        try:
            shutil.rmtree(tombstone)
        except OSError as exc:
            raise WorkspaceError(
                f"workspace {name!r} was deleted but some of its files remain in {tombstone} "
                f"({exc.strerror or exc}); delete that folder by hand"
            ) from exc

    def close(self) -> None:
        """Close the home audit log (open workspaces stay open until closed themselves)."""
        if self._home_store is not None:
            self._home_store.close()
            self._home_store = self._home_audit = None

    def __enter__(self) -> WorkspaceManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- helpers ------------------------------------------------------------------------

    def _open_path(self, name: str, path: Path) -> Workspace:
        workspace = Workspace(name, path, actor=self._actor, on_close=self._forget)
        self._open[name] = self._open.get(name, 0) + 1
        return workspace

    def _forget(self, workspace: Workspace) -> None:
        remaining = self._open.get(workspace.name, 0) - 1
        if remaining > 0:
            self._open[workspace.name] = remaining
        else:
            self._open.pop(workspace.name, None)

    def _existing_closed(self, name: str) -> Path:
        path = self.workspaces_dir / check_name(name)
        if not _is_workspace(path):
            raise NotFound(f"there is no workspace named {name!r} in {self.workspaces_dir}")
        if name in self._open:
            raise WorkspaceInUse(f"workspace {name!r} is open; close it first")
        return path


def _create_error(name: str, error: OSError) -> WorkspaceError:
    return WorkspaceError(
        f"cannot create workspace {name!r} ({error.strerror or error}); "
        "check free disk space and that you may write to the Prism home"
    )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the user database
        return "unknown-user"


def _is_name(text: str) -> bool:
    return NAME_PATTERN.fullmatch(text) is not None


def _is_workspace(path: Path) -> bool:
    """A folder Prism made: it holds the marker written at creation or the store (older homes)."""
    return path.is_dir() and ((path / MARKER_NAME).is_file() or (path / STORE_NAME).is_file())


def _keyring_id(keystore: Path) -> str | None:
    """The keystore's id when its master key is in the OS keyring; None for passphrase mode."""
    try:
        header = read_header(keystore)
    except PrismError as exc:
        log.warning("cannot read the keystore header of %s (%s); its keyring entry, if any, stays", keystore, exc)
        return None
    return header.uuid if header.mode == "keyring" else None


def _write_marker(path: Path) -> None:
    document = {"format": MARKER_FORMAT, "created_at": format_time(datetime.now(timezone.utc))}
    fd = os.open(path / MARKER_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
        handle.write("\n")


def _created_at(path: Path) -> datetime:
    """From the marker written at creation; a folder without one falls back to its mtime."""
    try:
        document = json.loads((path / MARKER_NAME).read_text(encoding="utf-8"))
        moment = datetime.fromisoformat(document["created_at"])
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc)
    except (OSError, ValueError, KeyError, TypeError):
        log.debug("workspace %s has no readable %s", path.name, MARKER_NAME)
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
