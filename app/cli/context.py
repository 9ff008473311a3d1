"""What every CLI command needs: the workspace, the unlocked keystore, output helpers, exit codes."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.errors import AlreadyExists, BadInput, KeystoreLocked, Refused
from core.fsio import atomic_write
from core.workspace.manager import WorkspaceManager
from core.workspace.workspace import Workspace

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2

PASSPHRASE_ENV = "PRISM_PASSPHRASE"


def read_secret_file(path: str) -> str:
    """A passphrase file holds the secret on its first line (trailing newline ignored)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read passphrase file {path}: {exc.strerror}") from exc
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise BadInput(f"passphrase file {path} is empty")
    return secret


def read_input_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from exc


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _probe_folder(folder: Path, target: Path) -> None:
    """Create and remove a file in ``folder``: the only sure test that a write will work (even as root)."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".prism-write-check-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {_os_reason(exc)} in {folder}; choose another place") from None


def _missing_folder(folder: Path) -> str:
    if folder.exists():
        return f"{folder} is not a folder; choose another place"
    return f"the folder {folder} does not exist; create it first"


def check_output_file(path: Path, *, overwrite: bool = True) -> Path:
    """Fail before any work if ``path`` cannot be written; its folder must already exist.

    Output folders are never made on the fly: a typo in a path should fail, not scatter folders.
    """
    if path.is_dir():
        raise BadInput(f"{path} is a folder; give the name of the file to write")
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise BadInput(f"{path} exists and is not a regular file; choose another name")
        if not overwrite:
            raise AlreadyExists(f"{path} already exists; remove it, choose another name, or add --force")
    folder = path.parent
    if not folder.is_dir():
        raise BadInput(f"cannot write {path}: {_missing_folder(folder)}")
    _probe_folder(folder, path)
    return path


def check_output_dir(path: Path) -> Path:
    """Fail before any work unless ``path`` is a writable folder or can be made as one (its parent exists)."""
    if path.is_dir():
        _probe_folder(path, path)
        return path
    if path.exists():
        raise BadInput(f"{path} exists and is not a folder; choose a folder for the output")
    if not path.parent.is_dir():
        raise BadInput(f"cannot create the folder {path}: {_missing_folder(path.parent)}")
    _probe_folder(path.parent, path)
    return path


def make_output_dir(path: Path) -> None:
    """Create an output folder the user named (only that folder, owner-only), if missing."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create the folder {path}: {_os_reason(exc)}") from None


def write_private_file(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, created 0600 before any byte lands in it (atomically)."""
    _write(path, data, 0o600)


def write_public_file(path: Path, data: bytes) -> None:
    """Write a file anyone may read (a certificate, a report), atomically and 0644."""
    _write(path, data, 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    try:
        atomic_write(path, data, mode=mode)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {_os_reason(exc)}") from None


@dataclass
class Context:
    args: argparse.Namespace
    out: Callable[[str], None] = print
    _manager: WorkspaceManager | None = None
    _workspace: Workspace | None = None
    _keystore: Any = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    # --- workspace ----------------------------------------------------------------------
    @property
    def manager(self) -> WorkspaceManager:
        if self._manager is None:
            self._manager = WorkspaceManager(self.args.home, actor=f"{getpass.getuser()} (cli)")
            self._closers.append(getattr(self._manager, "close", lambda: None))
        return self._manager

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            name = self.args.workspace
            # the default workspace comes into being on first use; others must be created explicitly
            self._workspace = self.manager.open(name, create=name == "default")
            self._closers.append(self._workspace.close)
        return self._workspace

    # --- secrets ------------------------------------------------------------------------
    def passphrase(self, *, prompt: str = "Keystore passphrase: ", confirm: bool = False) -> str | None:
        """--passphrase-file, then $PRISM_PASSPHRASE, then an interactive prompt; None if none can be had."""
        if self.args.passphrase_file:
            return read_secret_file(self.args.passphrase_file)
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env
        return self.prompt_secret(prompt, confirm=confirm)

    def prompt_secret(self, prompt: str, *, confirm: bool = False) -> str | None:
        if not sys.stdin or not sys.stdin.isatty():
            return None
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat: ") != first:
            raise BadInput("the two passphrases differ")
        return first or None

    def confirm(self, question: str, flag: bool) -> bool:
        if flag:
            return True
        if not sys.stdin or not sys.stdin.isatty():
            return False
        return input(f"{question} [type yes] ").strip().lower() == "yes"

    # --- keystore -----------------------------------------------------------------------
    def keystore(self, *, create: bool = False):
        """The workspace's keystore, unlocked (passphrase or OS keyring); created on request."""
        from core.keys.keystore import Keystore, keyring_usable

        if self._keystore is not None:
            return self._keystore
        ws = self.workspace
        path = ws.keystore_path
        if not Keystore.exists(path):
            if not create:
                raise Refused(
                    f"workspace '{ws.name}' has no keystore yet; create one with 'prism keys init' "
                    "or by generating or importing a key"
                )
            use_keyring = bool(getattr(self.args, "keyring", False))
            if use_keyring and not keyring_usable():
                raise Refused("no usable system keyring here; create the keystore with a passphrase instead")
            passphrase = None if use_keyring else self.passphrase(
                prompt="New keystore passphrase: ", confirm=True)
            if not use_keyring and not passphrase:
                raise KeystoreLocked(
                    "a new keystore needs a passphrase: give --passphrase-file, set PRISM_PASSPHRASE, "
                    "or use --keyring")
            ks = Keystore.create(path, passphrase=passphrase, use_keyring=use_keyring,
                                 on_event=ws.audit_hook)
        elif Keystore.mode(path) == "keyring":
            ks = ws.open_keystore()
        else:
            passphrase = self.passphrase()
            if not passphrase:
                raise KeystoreLocked(
                    "the keystore is locked: give --passphrase-file, set PRISM_PASSPHRASE, or run interactively")
            ks = ws.open_keystore(passphrase=passphrase)
        self._keystore = ks
        self._closers.append(ks.close)
        return ks

    def authority(self, *, unlock: bool = True):
        from core.ca.authority import CertificateAuthority

        ks = self.keystore() if unlock else None
        ws = self.workspace
        return CertificateAuthority(ws.store, ks, audit=ws.audit_hook, workspace_name=ws.name)

    # --- output -------------------------------------------------------------------------
    def emit_json(self, value: Any) -> None:
        self.out(json.dumps(value, indent=2, sort_keys=False, default=str))

    def table(self, headers: list[str], rows: list[list[Any]]) -> None:
        if not rows:
            self.out("(none)")
            return
        cells = [[str(c) for c in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        self.out("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
        for row in cells:
            self.out("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())

    def close(self) -> None:
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # noqa: BLE001 - closing must not mask the command's own outcome
                pass
