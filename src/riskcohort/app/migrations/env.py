"""Alembic environment: migrations always run on a connection handed over by ``db.migrate``."""

from alembic import context

from riskcohort.app.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
