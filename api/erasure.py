"""The erasure workflow's starter: `DELETE /v1/leads/{lead}` starts `Erasure` (workflows/
erasure.py) and waits for it, with a deadline.

One erasure per lead at a time: a repeated DELETE while one runs joins it (`USE_EXISTING`),
and one after it completed starts it again (nothing left to delete: success). What the API
answers: the result within `ERASURE_DEADLINE` (204), or the workflow's id while it goes on
(202: it retries each step until it succeeds, and an operator sees a step that keeps failing
as its pending activity in the Temporal UI); Temporal unreachable, 503 as everywhere
(api/temporal_calls.py, `guarded`).
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from api.errors import ApiError
from api.temporal_calls import RPC_TIMEOUT, guarded
from contracts import search_attributes as sa
from contracts.erasure import ERASURE_WORKFLOW, ErasureRequest, ErasureResult
from leads.config import Config, Dealer
from leads.identity import erasure_id

# How long the DELETE waits for the erasure (a few seconds when Temporal is well); later, the
# answer is 202 and the workflow finishes on its own, retrying what fails.
ERASURE_DEADLINE = 20.0
# The wait's own bound: the long poll of the result is cut at the deadline above; this one
# only catches a call that hangs past it.
WAIT_BOUND = ERASURE_DEADLINE + 5


async def erase(
    client: Client, config: Config, dealer: Dealer, lead_id: str
) -> ErasureResult | None:
    """Start (or join) the lead's erasure and wait for it: its result, or None when it was not
    done by the deadline and continues."""
    handle = await guarded(
        client.start_workflow(
            ERASURE_WORKFLOW,
            ErasureRequest(dealer_id=dealer.id, lead_id=lead_id),
            id=erasure_id(lead_id),
            task_queue=config.temporal.task_queue,
            result_type=ErasureResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A completed erasure may run again: the same customer may have come back since.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=TypedSearchAttributes([SearchAttributePair(sa.DEALER_ID, dealer.id)]),
            static_summary="Right to erasure: the lead, its tasks and their histories",
            rpc_timeout=RPC_TIMEOUT,
        ),
        "start the erasure",
    )
    return await guarded(_result(handle), "wait for the erasure", WAIT_BOUND)


async def _result(handle: WorkflowHandle[object, ErasureResult]) -> ErasureResult | None:
    try:
        return await asyncio.wait_for(handle.result(), ERASURE_DEADLINE)
    except TimeoutError:
        return None  # still running: the caller answers 202
    except WorkflowFailureError:
        # Each step is retried until it succeeds, so only a step that never can (a dealer the
        # worker does not know) or an operator ends it so. A new DELETE starts it over.
        raise ApiError(
            503, "erasure_failed", f"the erasure {handle.id} did not complete; retry"
        ) from None
