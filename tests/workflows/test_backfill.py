"""`python -m results backfill`: leads that ran while nothing was written to the store (a
worker from before the store, or a store that was down) get their rows from Temporal, the
same rows the workflows write, and a second backfill changes nothing. On the dev server:
the backfill lists runs through Temporal's visibility."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from leads.milestones import RECORD_CONVERSATION
from leads.models import CustomerReplied, LeadStatus, OptedOut
from providers.outbox import OutboxProvider
from results.backfill import backfill
from results.store import ResultsStore
from results.tables import conversations
from tests.conftest import eventually, make_config
from tests.workflows.test_results import Lab, writing_with
from worker import build_worker
from workflows.lead_follow_up import LeadFollowUp


@activity.defn(name=RECORD_CONVERSATION)
async def nothing(_: Any) -> None:
    """A worker from before the store: its write does nothing."""
    return None


async def test_rule8_backfill_records_open_and_closed_leads_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    config = make_config(contact_window="always", business_hours="always")
    store = ResultsStore(f"sqlite:///{tmp_path / 'results.db'}")
    queue = f"backfill-{uuid.uuid4()}"
    senders = Senders(outbox=OutboxProvider(tmp_path / "outbox.jsonl"))
    async with build_worker(
        dev_env.client, config, senders, task_queue=queue, wrap=writing_with(nothing)
    ):
        lab = Lab(dev_env, config, queue, tmp_path / "outbox.jsonl", store=store)
        closed = await lab.start()
        await lab.until(closed, lambda s: len(s.touches) == 1)
        await closed.signal(LeadFollowUp.opted_out, OptedOut(channel="all"))
        assert (await closed.result()).status is LeadStatus.OPTED_OUT
        engaged = await lab.start()
        await lab.until(engaged, lambda s: len(s.touches) == 1)
        await engaged.signal(
            LeadFollowUp.customer_replied, CustomerReplied(channel="email", text="Ja")
        )
        await lab.until(engaged, lambda s: s.status is LeadStatus.ENGAGED)
        assert lab.rows(conversations, closed.id) == []  # nothing written while they ran

        async def filled() -> int:
            done = await backfill(dev_env.client, store, "autohuis-test", task_queue=queue)
            return done.recorded

        # Visibility lags a moment behind the runs: asked again until it lists both.
        await eventually(filled, lambda recorded: recorded == 2, deadline=30)
        with store.connect() as connection:
            rows = {
                row.lead_id: row
                for row in connection.execute(
                    select(conversations).where(
                        conversations.c.lead_id.in_([closed.id, engaged.id])
                    )
                )
            }
        assert rows[closed.id].outcome == "opted_out"
        assert rows[closed.id].conversation_id == closed.result_run_id
        assert rows[engaged.id].first_reply_at is not None
        assert rows[engaged.id].status == "engaged"
        before = {lead: dict(row._mapping) for lead, row in rows.items()}
        again = await backfill(dev_env.client, store, "autohuis-test", task_queue=queue)
        assert again.recorded == 2
        with store.connect() as connection:
            after = {
                row.lead_id: dict(row._mapping)
                for row in connection.execute(
                    select(conversations).where(
                        conversations.c.lead_id.in_([closed.id, engaged.id])
                    )
                )
            }
        for lead, row in after.items():
            moved = {k for k, v in row.items() if before[lead][k] != v and k != "recorded_at"}
            assert not moved, moved
        await engaged.terminate("test done")
