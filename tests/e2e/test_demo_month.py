"""The demo month end to end: a small month played through the real workflows on the dev
server, its figures in a SQLite results store of its own.

A one-touch cadence keeps it to well under a minute (the engine spaces touches a minute
apart): every customer who answers does so at touch 1, the others become unreachable after
a grace of two seconds, and no-channel leads are worked by the demo's salesperson.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from demo.dealer import TASK_QUEUE, demo_config
from demo.month import month
from demo.player import play_month
from leads.contact import analyse_contact
from leads.milestones import FinalOutcome
from providers.outbox import OutboxProvider
from results.store import ResultsStore
from results.tables import conversations
from tests.conftest import eventually, make_config

pytestmark = pytest.mark.e2e

# Seed 26's twelve leads end every way there is and include leads no channel reaches.
SEED, LEADS = 26, 12


async def test_a_small_month_closes_every_lead_and_task_and_fills_the_store(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    config = demo_config(make_config(), "autohuis-test", touches=1, grace=timedelta(seconds=2))
    dealer = config.dealers[0]
    scripts = month(
        SEED,
        LEADS,
        touches=1,
        salespeople=[p.id for p in dealer.salespeople],
        remind_after=dealer.remind_after.total_seconds(),
        escalate_after=dealer.escalate_after.total_seconds(),
    )
    assert {s.ending for s in scripts} == set(FinalOutcome)
    assert any(
        not analyse_contact(s.lead.customer, "NL", s.lead.reply_url).addresses for s in scripts
    )
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.db'}")
    store.upgrade()
    outbox = tmp_path / "outbox.jsonl"
    lines: list[str] = []

    summary = await play_month(
        dev_env.client,
        config,
        scripts,
        Senders(outbox=OutboxProvider(outbox)),
        results=store,
        say=lines.append,
    )

    assert summary.terminated == 0, summary.lines()
    for played in summary.played:
        assert played.problem is None, (played.script.number, played.problem)
        assert played.ended is played.script.ending, played.script.number
        assert played.tasks_done == len(played.tasks)
    assert summary.ok
    assert sum(len(p.tasks) for p in summary.played) > 0
    # Rule 8's read model: one row per lead, ending as scripted.
    with store.engine.connect() as connection:
        rows = connection.execute(select(conversations.c.lead_id, conversations.c.outcome)).all()
    expected = {p.lead_id: p.script.ending.value for p in summary.played}
    assert len(rows) == LEADS
    assert {row.lead_id: row.outcome for row in rows} == expected
    # Nothing waits on the demo's queue now that its worker has stopped.
    query = f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus = 'Running'"

    async def running() -> int:
        return len([e async for e in dev_env.client.list_workflows(query)])

    await eventually(running, lambda n: n == 0, deadline=20)
    # No personal data in what the demo prints.
    report = "\n".join(lines + summary.lines())
    assert "@" not in report and "Demo klant" not in report
    assert outbox.read_text().count("\n") >= LEADS // 2  # the first answers went out
