"""A real PostgreSQL for tests and benchmarks: Debian's `postgresql` package, started on
127.0.0.1 on a free port in a temporary folder, as the unprivileged `postgres` user when run
as root (initdb refuses root). `.ci/run` installs the package; without it, callers skip."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.ports import free_port

STARTUP_DEADLINE = 30.0


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None when not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def available() -> bool:
    return binaries() is not None


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bin: Path
    user: str | None  # run as this OS user (root cannot run PostgreSQL)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        wrapped = [*(["runuser", "-u", self.user, "--"] if self.user else []), *command]
        return subprocess.run(wrapped, check=True, capture_output=True, text=True, timeout=60)

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        self._run(
            str(self.bin / "psql"),
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"),
            *("-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{name}"'),
        )
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [
                *(["runuser", "-u", self.user, "--"] if self.user else []),
                str(self.bin / "pg_ctl"),
                *("-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"),
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PostgresServer:
    bin_folder = binaries()
    if bin_folder is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="blanco-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(folder, user=user)
    server = PostgresServer(folder=folder, port=free_port(), bin=bin_folder, user=user)
    data = folder / "data"
    server._run(
        str(bin_folder / "initdb"),
        *("-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"),
    )
    # Listen on loopback only; the socket lives in our folder, not in /var/run.
    options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} -c fsync=off"
    server._run(
        str(bin_folder / "pg_ctl"),
        *("-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"),
    )
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        ready = subprocess.run(
            [str(bin_folder / "pg_isready"), "-h", "127.0.0.1", "-p", str(server.port)],
            capture_output=True,
        )
        if ready.returncode == 0:
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"PostgreSQL did not start: {(folder / 'log').read_text()}")
        time.sleep(0.2)  # polling the server's readiness, with a deadline


@contextmanager
def running() -> Iterator[PostgresServer]:
    server = start()
    try:
        yield server
    finally:
        server.stop()
