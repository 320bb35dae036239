"""Filling the results store from Temporal: leads that started, or closed, before the store
existed (or while it was unreachable) are not lost.

Every `LeadFollowUp` run Temporal still has, open or closed within the namespace's retention,
is asked for its figures (the `results_figures` query, which the workers answer by replaying
the run) and upserted. The upsert is the workflows' own, so running it twice, or while the
workflows write, changes nothing. Run it while the workers run: a closed run's query is
answered by a worker replaying it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError

from contracts import search_attributes as sa
from leads.milestones import ConversationFigures
from results.store import ResultsStore

QUERY = "WorkflowType = 'LeadFollowUp'"
QUERY_TIMEOUT = timedelta(seconds=30)
CONCURRENCY = 8  # queries in flight: each one is a replay on a worker
# A run that continued as new is one of its chain: the chain's latest run carries the whole
# conversation. A terminated run was stopped by an operator or erased: nothing to count.
SKIPPED = {
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued as new",
    WorkflowExecutionStatus.TERMINATED: "terminated",
}


@dataclass
class Backfilled:
    recorded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        recorded = f"{self.recorded} conversations recorded"
        return recorded + (f"; skipped: {skipped}" if skipped else "")


async def _figures(client: Client, run: WorkflowExecution) -> ConversationFigures | str:
    """The run's figures, or why there are none."""
    skipped = SKIPPED.get(run.status) if run.status is not None else None
    if skipped:
        return skipped
    handle = client.get_workflow_handle(run.id, run_id=run.run_id)
    try:
        figures: ConversationFigures = await handle.query(
            "results_figures", result_type=ConversationFigures, rpc_timeout=QUERY_TIMEOUT
        )
    except WorkflowQueryFailedError:
        return "still starting"  # its dealer plan not loaded yet: it records itself
    except RPCError as error:
        return f"unreadable ({error.status.name.lower() if error.status else 'rpc'})"
    return figures


async def backfill(
    client: Client,
    store: ResultsStore,
    dealer_id: str | None = None,
    progress: Callable[[Backfilled], None] | None = None,
    task_queue: str | None = None,
) -> Backfilled:
    """`dealer_id`, `task_queue`: only those runs. Both come from the configuration (the
    command checks the dealer), never from a request, so they are safe in the query."""
    query = QUERY
    if dealer_id:
        query += f" AND {sa.DEALER_ID.name} = '{dealer_id}'"
    if task_queue:
        query += f" AND TaskQueue = '{task_queue}'"
    done = Backfilled()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(run: WorkflowExecution) -> None:
        async with gate:
            found = await _figures(client, run)
        if isinstance(found, str):
            done.skipped[found] += 1
            return
        await asyncio.to_thread(store.record_conversation, found)
        done.recorded += 1
        if progress and done.recorded % 100 == 0:
            progress(done)

    pending: set[asyncio.Task[None]] = set()
    async for run in client.list_workflows(query):
        pending.add(asyncio.create_task(one(run)))
        if len(pending) >= CONCURRENCY * 4:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                task.result()
    if pending:
        for task in (await asyncio.wait(pending))[0]:
            task.result()
    return done
