"""The results store's tests run on both databases it supports: SQLite (the default, a file in
the test's own folder) and PostgreSQL (Debian's package, tests/postgres.py). The session starts
one PostgreSQL server on 127.0.0.1 and stops it at the end; each test gets a fresh database on
it, so no test sees another's rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from results.store import ResultsStore
from tests import postgres

NO_POSTGRES = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
    "`apt-get install postgresql` (.ci/run does) to run these on PostgreSQL too"
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    if not postgres.available():
        pytest.skip(NO_POSTGRES)
    with postgres.running() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: its URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def store(database_url: str) -> Iterator[ResultsStore]:
    """A migrated store on an empty database of each kind."""
    opened = ResultsStore(database_url)
    opened.upgrade()
    yield opened
    opened.close()
