"""Workspaces, their SQLite store and migrations, and the hash-chained audit log."""

from __future__ import annotations

from core.workspace.audit import AuditLog, AuditRecord, ChainReport
from core.workspace.manager import WorkspaceInfo, WorkspaceInUse, WorkspaceManager
from core.workspace.migrate import StoreTooNew, upgrade
from core.workspace.store import Store
from core.workspace.workspace import NAME_PATTERN, Workspace

__all__ = [
    "NAME_PATTERN",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "Store",
    "StoreTooNew",
    "Workspace",
    "WorkspaceInUse",
    "WorkspaceInfo",
    "WorkspaceManager",
    "upgrade",
]
