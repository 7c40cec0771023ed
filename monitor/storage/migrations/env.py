"""Alembic environment: run by `Store.upgrade()` (the CLI does it by itself)."""

from __future__ import annotations

from alembic import context

from monitor.storage.schema import Base

config = context.config
target_metadata = Base.metadata

connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run through monitor.storage.Store.upgrade(), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
