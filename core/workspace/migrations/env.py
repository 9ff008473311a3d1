"""Alembic environment: runs the revisions on the connection the store hands over.

core.workspace.migrate puts an open connection, already inside a transaction, into
``config.attributes["connection"]``; the whole upgrade then commits or rolls back as one.
For developers running the ``alembic`` command directly, ``sqlalchemy.url`` is honoured.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

config = context.config


def _run(connection) -> None:
    # SQLite does roll back DDL when BEGIN was emitted (the store does so), so let alembic
    # treat the upgrade as one transaction instead of its SQLite default of none.
    context.configure(connection=connection, transactional_ddl=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    _url = config.get_main_option("sqlalchemy.url")
    if not _url:
        raise RuntimeError("set sqlalchemy.url (e.g. -x or alembic.ini) to run migrations by hand")
    with create_engine(_url).begin() as _conn:
        _run(_conn)
