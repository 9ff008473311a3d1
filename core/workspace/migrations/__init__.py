"""Alembic migration scripts of the workspace store (loaded from files by alembic, not imported)."""
