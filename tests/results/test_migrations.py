"""results/migrations: the Alembic revisions build, from an empty database, exactly the schema
results/tables.py declares, on SQLite and on PostgreSQL; running them again changes nothing."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text

from results.store import MIGRATIONS, ResultsStore, make_engine
from results.tables import conversations, metadata, tasks


def head() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


def applied(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema(engine: Engine) -> dict[str, Any]:
    """What a migration could change: each table's columns, keys and indexes."""
    found = inspect(engine)
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)
            ],
            "primary_key": found.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"] or "", tuple(i["column_names"])) for i in found.get_indexes(table)
            ),
        }
        for table in sorted(found.get_table_names())
    }


def test_migrations_run_up_from_an_empty_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
        ResultsStore(database_url).upgrade()
        assert applied(engine) == head()
        assert set(inspect(engine).get_table_names()) == {
            "alembic_version",
            conversations.name,
            tasks.name,
        }
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_one_tables_py_declares(store: ResultsStore) -> None:
    """Autogenerate would write no revision: tables, columns, types, nullability and indexes
    of the migrations agree with results/tables.py."""
    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrading_twice_is_a_no_op(database_url: str) -> None:
    """A second process (the API after the worker, a restart) finds the schema at head and
    leaves it, and the rows in it, as they are."""
    first = ResultsStore(database_url)
    first.upgrade()
    with first.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tasks (task_key, lead_id, dealer_id, kind, opened_at, reminded,"
                " escalated, recorded_at) VALUES ('c:1', 'lead-x', 'd', 'reply',"
                " '2026-11-24 09:00:00', false, false, '2026-11-24 09:00:00')"
            )
        )
    before = schema(first.engine)
    first.close()

    second = ResultsStore(database_url)
    try:
        second.upgrade()
        second.upgrade()  # and again in the same process: once per process is enough
        assert applied(second.engine) == head()
        assert schema(second.engine) == before
        with second.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(tasks)).scalar_one() == 1
            versions = connection.execute(text("SELECT count(*) FROM alembic_version"))
            assert versions.scalar_one() == 1
    finally:
        second.close()
