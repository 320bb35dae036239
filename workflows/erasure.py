"""Erasure: the right to erasure of one lead as a workflow (rule 7,
docs/architecture.md; docs/temporal-interface.md).

`erasure-<lead id>`, started by `DELETE /v1/leads/{lead}` (api/erasure.py). Each step is an
activity Temporal retries until it succeeds, so a failure half-way (Temporal busy, the worker
restarted) resumes where it stopped instead of leaving a half-erased lead; and every step is
idempotent, so running the whole erasure again changes nothing. What must survive is read
before anything is deleted, and lands in this history as keyed hashes only: this history
outlives the lead's and holds no personal data (ids, hashes, channels, counts).

The activities are called by name (contracts/erasure.py): this module imports no I/O stack.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from contracts.erasure import (
        DELETE_HISTORIES,
        END_WORKFLOWS,
        ERASE_OUTBOX,
        ERASURE_WORKFLOW,
        FIND_HISTORIES,
        KEEP_OPT_OUTS,
        UNLINK_RESULTS,
        WHAT_SURVIVES,
        DeleteHistories,
        EndWorkflows,
        ErasureRequest,
        ErasureResult,
        Execution,
        FindHistories,
        KeepOptOuts,
        WhatSurvives,
    )

R = TypeVar("R")

# Every step talks to Temporal or a local store: retried soon (the API waits for the result),
# and for as long as it takes; an operator sees a step that keeps failing in the UI.
RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
STEP_TIMEOUT = timedelta(seconds=60)  # one attempt: a handful of Temporal calls, 5 s each


@workflow.defn(name=ERASURE_WORKFLOW)
class Erasure:
    @workflow.run
    async def run(self, request: ErasureRequest) -> ErasureResult:
        lead_id = request.lead_id
        # First: from here on no touch can start and no task can open.
        await self._step(END_WORKFLOWS, EndWorkflows(workflow_ids=[lead_id]), int)
        survives = await self._step(WHAT_SURVIVES, request, WhatSurvives)
        kept = 0
        if survives.opt_outs:
            keep = KeepOptOuts(dealer_id=request.dealer_id, opt_outs=survives.opt_outs)
            kept = await self._step(KEEP_OPT_OUTS, keep, int)
        find = FindHistories(lead_id=lead_id, known=[lead_id, *survives.task_ids])
        executions = await self._step(FIND_HISTORIES, find, list[Execution])
        tasks = sorted({e.workflow_id for e in executions if e.workflow_id != lead_id})
        if tasks:  # erased, not merely deleted: reads answer 404 until the history is gone
            await self._step(END_WORKFLOWS, EndWorkflows(workflow_ids=tasks), int)
        deleted = await self._step(DELETE_HISTORIES, DeleteHistories(executions=executions), int)
        lines = await self._step(ERASE_OUTBOX, lead_id, int)
        # After the workflows ended: none of them can write the lead's id back.
        rows = await self._step(UNLINK_RESULTS, lead_id, int)
        workflow.logger.info(
            "lead_erased",
            extra={
                "lead_id": lead_id,
                "dealer": request.dealer_id,
                "executions": deleted,
                "opt_outs": kept,
                "outbox_lines": lines,
                "results_rows": rows,
            },
        )
        return ErasureResult(
            executions=deleted, opt_outs=kept, outbox_lines=lines, results_rows=rows
        )

    async def _step(self, name: str, arg: Any, result_type: type[R]) -> R:
        found: R = await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=RETRY,
        )
        return found
