"""Alembic environment: migrations run programmatically on a connection handed in by
`journeyscope.store.db.Database.upgrade` (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context

from journeyscope.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
