"""Alembic's environment: runs on the connection ResultsStore.upgrade passes in, or on
BLANCO_RESULTS_URL for `alembic` run by hand (`alembic -c results/alembic.ini …`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from results.store import make_engine, results_url
from results.tables import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(results_url())
    with engine.begin() as connection:
        _migrate(connection)
    engine.dispose()


run()
