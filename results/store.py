"""Writing the store: idempotent upserts of the milestones, erasure's unlinking, migrations.

Every write is an upsert keyed by the conversation (or the task's run), so a retried
activity, a replayed workflow or a backfill run twice never makes a second row, and the
merge rules of results/tables.py never move a figure backwards.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, case, create_engine, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from leads.milestones import ConversationFigures, TaskFigures
from results.tables import FIRST, FIXED, LATEST, conversations, tasks

DEFAULT_URL = "sqlite:///.data/results.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def results_url(env: dict[str, str] | None = None) -> str:
    return (env if env is not None else os.environ).get("BLANCO_RESULTS_URL") or DEFAULT_URL


def _normalised(url: str) -> str:
    """`postgresql://…` means psycopg 3 here (the one driver installed)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def naive_utc(at: datetime | None) -> datetime | None:
    """The store's times: naive UTC (an aware time is converted; a naive one is UTC)."""
    if at is None or at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # WAL: the API reads while the worker writes; a writer waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    url = _normalised(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class ResultsStore:
    """One database: SQLite by default, PostgreSQL through `BLANCO_RESULTS_URL`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._upgraded = False
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ResultsStore:
        return cls(results_url(env))

    def describe(self) -> str:
        """The URL for logs: without its password."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # --- schema -----------------------------------------------------------------------------

    def upgrade(self) -> None:
        """Alembic to the newest revision (a no-op when there already); once per process."""
        with self._lock:
            if self._upgraded:
                return
            with self.engine.begin() as connection:
                if self.dialect == "postgresql":
                    # The worker and the API may start together: one migrates, the other waits.
                    connection.execute(select(func.pg_advisory_xact_lock(0x626C616E636F)))
                config = AlembicConfig()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            self._upgraded = True

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        self.upgrade()
        with self.engine.begin() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()

    # --- writes -----------------------------------------------------------------------------

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(table)

    def record_conversation(self, figures: ConversationFigures) -> None:
        with self.connect() as connection:
            connection.execute(self._conversation_upsert, _conversation_row(figures))
            for task in figures.tasks:
                connection.execute(self._task_upsert, _task_row(task))

    # Built once per store, executed with each row's values: SQLAlchemy compiles them once too.
    # (Built per write, they were a sixth of the worker's CPU per lead: docs/benchmarks.md.)

    @cached_property
    def _conversation_upsert(self) -> Any:
        insert = self._insert(conversations)
        old, new = conversations.c, insert.excluded
        newer = new.revision >= old.revision
        merged = {name: func.coalesce(old[name], new[name]) for name in FIRST}
        for name in LATEST:
            merged[name] = _case(newer, new[name], old[name])
        merged["recorded_at"] = new.recorded_at
        return insert.on_conflict_do_update(index_elements=["conversation_id"], set_=merged)

    @cached_property
    def _task_upsert(self) -> Any:
        insert = self._insert(tasks)
        old, new = tasks.c, insert.excluded
        merged = {
            "claimed_at": func.coalesce(old.claimed_at, new.claimed_at),
            "done_at": func.coalesce(old.done_at, new.done_at),
            "salesperson_id": func.coalesce(new.salesperson_id, old.salesperson_id),
            # once chased, always counted as chased
            "reminded": old.reminded | new.reminded,
            "escalated": old.escalated | new.escalated,
            "recorded_at": new.recorded_at,
        }
        return insert.on_conflict_do_update(index_elements=["task_key"], set_=merged)

    def erase_lead(self, lead_id: str) -> int:
        """Right to erasure: the rows stay (the figures are nobody's), their link to the
        person goes. Returns how many rows were unlinked."""
        stranger = f"erased-{secrets.token_hex(12)}"
        with self.connect() as connection:
            done = 0
            for table in (conversations, tasks):
                result = connection.execute(
                    update(table).where(table.c.lead_id == lead_id).values(lead_id=stranger)
                )
                done += result.rowcount
        return done


def _case(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


def _task_row(figures: TaskFigures) -> dict[str, Any]:
    row = figures.model_dump(mode="json")
    for name in ("opened_at", "claimed_at", "done_at"):
        row[name] = naive_utc(getattr(figures, name))
    row["recorded_at"] = naive_utc(datetime.now(UTC))
    return {c.name: row[c.name] for c in tasks.columns}


def _conversation_row(figures: ConversationFigures) -> dict[str, Any]:
    row = figures.model_dump(mode="json", exclude={"tasks"})
    for name in row:
        at = getattr(figures, name)
        if isinstance(at, datetime):
            row[name] = naive_utc(at)
    row["usable_channels"] = ",".join(row["usable_channels"])
    row["recorded_at"] = naive_utc(datetime.now(UTC))
    wanted = {c.name for c in conversations.columns}
    assert set(FIXED) | set(FIRST) | set(LATEST) <= wanted
    return {name: row[name] for name in wanted}
