"""The managers' reports on 100,000 conversations (issue 11: the funnel answers within a
second), on SQLite and, when Debian's `postgresql` is installed, on PostgreSQL:

    .venv/bin/python bench/funnel.py [--rows 100000] [--runs 15]

One dealer's 100,000 generated conversations in one 30-day period (and a tenth as many of
another dealer's, which the reports must skip), with a reply task for each contacted one,
inserted in bulk: no personal data, only ids, kinds, flags and times. Then `funnel()` by each
grouping and by two, and `speed()`, each timed over `--runs` runs after one warm-up, printed
as nearest-rank p50 / p90. The baseline, measured in the same run on the same rows: a bare
`SELECT COUNT(*)` of the period's rows through the same index, the floor any report over
those rows pays. PostgreSQL is ANALYZEd after the load, as autovacuum would soon do.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as `python bench/funnel.py`: the project's packages

from sqlalchemy import func, insert, select, text  # noqa: E402

from api.inbox.results_page import funnels  # noqa: E402
from results.reports import GROUPINGS, during, funnel  # noqa: E402
from results.speed import nearest_rank, speed  # noqa: E402
from results.store import ResultsStore  # noqa: E402
from results.tables import conversations, tasks  # noqa: E402
from tests import postgres  # noqa: E402

DEALER, OTHER = "bench-dealer", "bench-other"
END = datetime(2026, 4, 1, tzinfo=UTC)
START = END - timedelta(days=30)
CHUNK = 5_000  # rows per executemany
SOURCES = ["website", "marktplaats", "autoscout24", "autotrader", "facebook", "mobile-de"]
KINDS = ["brochure_request", "price_request", "test_drive", "trade_in", "offer", "general"]
QUALITIES = ["complete", "email_only", "phone_only", "placeholder_phone", "no_channel"]
FIRST_CHANNEL = {
    "complete": "email",
    "email_only": "email",
    "phone_only": "sms",
    "placeholder_phone": "email",
    "no_channel": "none",
}
PEOPLE = [f"sp-{n:02d}" for n in range(12)]
OUTCOMES = ["won", "lost", "not_interested", "unreachable", "opted_out", None]


def rows(dealer: str, count: int, seed: int) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """Conversation rows (and their task rows) for the store's tables, naive UTC."""
    rng = random.Random(seed)
    span = (END - START).total_seconds()
    now = END.replace(tzinfo=None)
    for n in range(count):
        arrived = START.replace(tzinfo=None) + timedelta(seconds=rng.random() * span)
        quality = rng.choice(QUALITIES)
        contacted = quality != "no_channel" and rng.random() < 0.5
        appointment = contacted and rng.random() < 0.4
        shown = appointment and rng.random() < 0.7
        outcome = rng.choice(OUTCOMES)
        if outcome == "won" and not shown:
            outcome = None
        who = rng.choice(PEOPLE) if contacted else None
        replied = arrived + timedelta(minutes=rng.randint(5, 600)) if contacted else None
        claimed = replied + timedelta(seconds=rng.randint(20, 3600)) if replied else None
        wrote = claimed + timedelta(seconds=rng.randint(30, 900)) if claimed else None
        key = f"{dealer}-{n:07d}"
        row = {
            "conversation_id": key,
            "lead_id": f"lead-{dealer}-{n:024x}",
            "dealer_id": dealer,
            "source": rng.choice(SOURCES),
            "kind": rng.choice(KINDS),
            "first_channel": FIRST_CHANNEL[quality],
            "usable_channels": "" if quality == "no_channel" else FIRST_CHANNEL[quality],
            "contact_quality": quality,
            "email_usable": quality in ("complete", "email_only", "placeholder_phone"),
            "phone_usable": quality in ("complete", "phone_only"),
            "phone_placeholder": quality == "placeholder_phone",
            "no_usable_channel": quality == "no_channel",
            "arrived_at": arrived,
            "first_answer_at": (
                None if quality == "no_channel" else arrived + timedelta(seconds=rng.randint(1, 60))
            ),
            "first_reply_at": replied,
            "touches_to_reply": rng.randint(1, 5) if contacted else None,
            "claimed_at": claimed,
            "first_human_message_at": wrote,
            "salesperson_id": who,
            "appointment_set_at": replied + timedelta(hours=3) if appointment and replied else None,
            "appointment_at": None,
            "appointment_kind": None,
            "shown_at": arrived + timedelta(days=2) if shown else None,
            "no_show_at": None,
            "status": outcome or "engaged",
            "outcome": outcome,
            "outcome_reason": "price" if outcome == "lost" else None,
            "closed_at": arrived + timedelta(days=4) if outcome else None,
            "revision": 10,
            "recorded_at": now,
        }
        task_rows = []
        if replied is not None and claimed is not None:
            took = claimed - replied
            task_rows.append(
                {
                    "task_key": f"{key}:1",
                    "lead_id": row["lead_id"],
                    "dealer_id": dealer,
                    "kind": "reply",
                    "opened_at": replied,
                    "claimed_at": claimed,
                    "salesperson_id": who,
                    "reminded": took >= timedelta(minutes=10),
                    "escalated": took >= timedelta(minutes=30),
                    "done_at": None,
                    "recorded_at": now,
                }
            )
        yield row, task_rows


def load(store: ResultsStore, count: int) -> None:
    store.upgrade()
    batch: list[dict[str, Any]] = []
    task_batch: list[dict[str, Any]] = []

    def flush() -> None:
        with store.engine.begin() as connection:
            if batch:
                connection.execute(insert(conversations), batch)
            if task_batch:
                connection.execute(insert(tasks), task_batch)
        batch.clear()
        task_batch.clear()

    for dealer, how_many, seed in ((DEALER, count, 1), (OTHER, count // 10, 2)):
        for row, task_rows in rows(dealer, how_many, seed):
            batch.append(row)
            task_batch.extend(task_rows)
            if len(batch) >= CHUNK:
                flush()
    flush()
    with store.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p90 in milliseconds over `runs` calls, after one warm-up (the first call also
    migrates the store's engine and fills caches)."""
    call()
    walls = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        walls.append((time.perf_counter() - began) * 1000)
    walls.sort()
    p50, p90 = nearest_rank(walls, 50), nearest_rank(walls, 90)
    assert p50 is not None and p90 is not None
    return p50, p90


def count_rows(store: ResultsStore) -> int:
    c = conversations.c
    query = select(func.count()).where(during(c.dealer_id, c.arrived_at, DEALER, START, END))
    with store.connect() as connection:
        return int(connection.execute(query).scalar_one())


def bench(name: str, store: ResultsStore, count: int, runs: int) -> None:
    began = time.perf_counter()
    load(store, count)
    print(f"\n{name}: {count:,} conversations loaded in {time.perf_counter() - began:.1f} s")
    assert count_rows(store) == count
    base50, base90 = timed(lambda: count_rows(store), runs)
    print(f"  {'query':<38} {'p50 ms':>8} {'p90 ms':>8} {'p50 / COUNT(*)':>15}")
    print(f"  {'baseline SELECT COUNT(*)':<38} {base50:>8.1f} {base90:>8.1f} {1.0:>15.1f}")
    groupings = [[g] for g in GROUPINGS] + [["source", "kind"], ["contact_quality", "salesperson"]]
    worst = 0.0
    for by in groupings:
        found = funnel(store, DEALER, START, END, by)
        assert found.total.leads == count
        p50, p90 = timed(partial(funnel, store, DEALER, START, END, by), runs)
        worst = max(worst, p50)
        label = f"funnel by {','.join(by)}"
        print(f"  {label:<38} {p50:>8.1f} {p90:>8.1f} {p50 / base50:>15.1f}")
    p50, p90 = timed(lambda: speed(store, DEALER, START, END), runs)
    print(f"  {'speed':<38} {p50:>8.1f} {p90:>8.1f} {p50 / base50:>15.1f}")
    page50, p90 = timed(lambda: asyncio.run(funnels(store, DEALER, START, END, ["source"])), runs)
    label = "results page (its 4 funnels + audit)"
    print(f"  {label:<38} {page50:>8.1f} {p90:>8.1f} {page50 / base50:>15.1f}")
    verdict = "within" if worst < 1000 else "OVER"
    print(f"  slowest funnel p50 {worst:.0f} ms: {verdict} the 1 s target")
    verdict = "within" if page50 < 1000 else "OVER"
    print(f"  results page p50 {page50:.0f} ms: {verdict} the 1 s target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs: at least 10")
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    with ExitStack() as stack:
        folder = stack.enter_context(TemporaryDirectory(prefix="blanco-bench-funnel-"))
        sqlite = ResultsStore(f"sqlite:///{folder}/results.db")
        stack.callback(sqlite.close)
        bench("SQLite", sqlite, args.rows, args.runs)
        if not postgres.available():
            print("\nPostgreSQL: skipped (no initdb; apt-get install postgresql)")
            return
        server = stack.enter_context(postgres.running())
        pg = ResultsStore(server.create_database("bench"))
        stack.callback(pg.close)
        with pg.engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar()
        bench(f"PostgreSQL {version}", pg, args.rows, args.runs)


if __name__ == "__main__":
    main()
