"""The `Erasure` workflow's steps (workflows/erasure.py): each one idempotent, so Temporal may
retry it, or run the whole erasure again, without harm. Nothing already gone is a failure;
anything else raises and is retried.

The customer's data is read here (the lead's state) and leaves as keyed hashes only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from activities.dealers import known_dealer
from activities.results import ResultsActivities
from contracts import search_attributes as sa
from contracts.erasure import (
    DELETE_HISTORIES,
    END_WORKFLOWS,
    ERASE_OUTBOX,
    ERASED,
    FIND_HISTORIES,
    KEEP_OPT_OUTS,
    UNLINK_RESULTS,
    WHAT_SURVIVES,
    DeleteHistories,
    EndWorkflows,
    ErasureRequest,
    Execution,
    FindHistories,
    KeepOptOuts,
    KeptOptOut,
    WhatSurvives,
)
from contracts.errors import STILL_STARTING
from contracts.workflows import OPT_OUT
from leads.config import Config
from leads.identity import opt_out_entries, opt_out_id
from leads.models import Channel, Customer, LeadState
from leads.timeline import opened_task_kind
from providers.outbox import OutboxProvider

RPC_TIMEOUT = timedelta(seconds=5)  # each Temporal call; an attempt of a step has a minute
STATE_QUERY = "state"  # LeadFollowUp's query of the lead's state


def _gone(error: RPCError) -> bool:
    return error.status is RPCStatusCode.NOT_FOUND


class ErasureActivities:
    def __init__(
        self,
        config: Config,
        client: Client | None,
        outbox: OutboxProvider,
        results: ResultsActivities,
    ) -> None:
        self._config = config
        self._client = client
        self._outbox = outbox  # the worker's own: it writes the lines, it removes them
        self._results = results  # its store, opened at the first use

    @property
    def client(self) -> Client:
        assert self._client is not None, "erasure needs the worker's Temporal client"
        return self._client

    @activity.defn(name=END_WORKFLOWS)
    async def end_workflows(self, request: EndWorkflows) -> int:
        """Terminate each, with the reason reads recognise an erased run by. Returns how many
        were running."""
        ended = 0
        for workflow_id in request.workflow_ids:
            handle = self.client.get_workflow_handle(workflow_id)
            try:
                await handle.terminate(reason=ERASED, rpc_timeout=RPC_TIMEOUT)
            except RPCError as error:
                if not _gone(error):  # already closed, or never existed
                    raise
                continue
            ended += 1
        return ended

    @activity.defn(name=WHAT_SURVIVES)
    async def what_survives(self, request: ErasureRequest) -> WhatSurvives:
        """Every run of the lead id (its continued runs, earlier conversations of the same
        customer): the opt-outs it recorded, as `OptOut` ids (keyed hashes) and channels, and
        the tasks it opened. A run whose state cannot be read fails the step, and nothing is
        deleted: only a run that is gone, or has no state yet, holds nothing to keep."""
        dealer = known_dealer(self._config, request.dealer_id)
        refused: dict[str, set[Channel]] = {}
        tasks: list[str] = []
        for run_id in await self._lead_runs(request.lead_id):
            state = await self._state(
                self.client.get_workflow_handle(request.lead_id, run_id=run_id)
            )
            if state is None:
                continue
            customer = state.customer or Customer()
            for identifier, channels in opt_out_entries(
                customer, state.opted_out, dealer.country
            ).items():
                kept = opt_out_id(dealer.id, dealer.webhook_secret, identifier)
                refused.setdefault(kept, set()).update(channels)
            tasks += [e.detail for e in state.events if opened_task_kind(e.what) and e.detail]
        return WhatSurvives(
            opt_outs=[
                KeptOptOut(workflow_id=kept, channels=sorted(channels))
                for kept, channels in sorted(refused.items())
            ],
            task_ids=list(dict.fromkeys(tasks)),
        )

    async def _lead_runs(self, lead_id: str) -> list[str]:
        """The current run (by id: visibility may not show it yet) and every run visibility
        lists."""
        runs: list[str] = []
        try:
            described = await self.client.get_workflow_handle(lead_id).describe(
                rpc_timeout=RPC_TIMEOUT
            )
            runs.append(described.run_id)
        except RPCError as error:
            if not _gone(error):
                raise
        query = f"WorkflowId = '{lead_id}'"
        runs += [e.run_id async for e in self.client.list_workflows(query, rpc_timeout=RPC_TIMEOUT)]
        return list(dict.fromkeys(runs))

    async def _state(self, handle: WorkflowHandle[object, object]) -> LeadState | None:
        try:
            state: LeadState = await handle.query(
                STATE_QUERY, result_type=LeadState, rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as error:
            if _gone(error):
                return None
            raise
        except WorkflowQueryFailedError as error:
            # Its whole history replayed, the run never finished its opening: it holds no
            # conversation, so nothing to keep (a continued run starts with its
            # predecessor's conversation, so never answers this).
            if STILL_STARTING in str(error):
                return None
            raise  # a state that exists but cannot be read now: retried, nothing deleted
        return state

    @activity.defn(name=KEEP_OPT_OUTS)
    async def keep_opt_outs(self, request: KeepOptOuts) -> int:
        """Signal-with-start `add`: a new `OptOut`, or more channels for an existing one (an
        earlier erased lead of the same customer)."""
        dealer = known_dealer(self._config, request.dealer_id)
        for kept in request.opt_outs:
            await self.client.start_workflow(
                OPT_OUT,
                kept.channels,
                id=kept.workflow_id,
                task_queue=self._config.temporal.task_queue,
                start_signal="add",
                start_signal_args=[kept.channels],
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.DEALER_ID, dealer.id)]
                ),
                static_summary=f"Opt-out kept after erasure · {', '.join(kept.channels)}",
                rpc_timeout=RPC_TIMEOUT,
            )
        return len(request.opt_outs)

    @activity.defn(name=FIND_HISTORIES)
    async def find_histories(self, request: FindHistories) -> list[Execution]:
        """Every run of the lead id and of its tasks (`task-<lead>-<n>`) that visibility lists,
        and the current run of each `known` id, which visibility may not show yet."""
        # Lead ids are checked against the dealers' ids and a hex key before they get here.
        lead_id = request.lead_id
        query = f"WorkflowId = '{lead_id}' OR WorkflowId STARTS_WITH 'task-{lead_id}-'"
        found = [
            Execution(workflow_id=e.id, run_id=e.run_id)
            async for e in self.client.list_workflows(query, rpc_timeout=RPC_TIMEOUT)
        ]
        found += [Execution(workflow_id=workflow_id) for workflow_id in request.known]
        return list({(e.workflow_id, e.run_id): e for e in found}.values())

    @activity.defn(name=DELETE_HISTORIES)
    async def delete_histories(self, request: DeleteHistories) -> int:
        """Delete each run. Temporal terminates a running one first, and removes a closed
        one's history asynchronously. Returns how many deletions it accepted."""
        deleted = 0
        for execution in request.executions:
            call = DeleteWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=WorkflowExecution(
                    workflow_id=execution.workflow_id, run_id=execution.run_id
                ),
            )
            try:
                await self.client.workflow_service.delete_workflow_execution(
                    call, retry=True, timeout=RPC_TIMEOUT
                )
            except RPCError as error:
                if not _gone(error):
                    raise
                continue
            deleted += 1
        return deleted

    @activity.defn(name=ERASE_OUTBOX)
    async def erase_outbox(self, lead_id: str) -> int:
        return await asyncio.to_thread(self._outbox.erase, lead_id)

    @activity.defn(name=UNLINK_RESULTS)
    async def unlink_results(self, lead_id: str) -> int:
        """The lead's rows stay (the figures are nobody's); their link to the person goes."""
        return await asyncio.to_thread(self._results.store.erase_lead, lead_id)
