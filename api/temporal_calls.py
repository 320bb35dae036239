"""Everything the API asks of Temporal about one lead or task, each call with a deadline and
its failures mapped to HTTP answers: Temporal down or slow → 503, throttled → 429, no such
workflow → 404, an update refused by the workflow's validator → 409 with the workflow's
reason. `guarded` is that mapping, for every other Temporal call the API makes too.

The API keeps no state: a lead is found by its id (or by its customer's contact keys,
`api.reply_routing`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import QueryRejectCondition
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from client import start_lead
from contracts import memo
from contracts.erasure import ERASED
from leads.config import Config, Dealer
from leads.identity import task_lead
from leads.models import (
    CustomerReplied,
    IntakeResult,
    Lead,
    LeadState,
    SendMessage,
    TaskState,
    TaskStatus,
    ThreadMessage,
)
from workflows.lead_follow_up import LeadFollowUp
from workflows.sales_task import Claim, SalesTask

T = TypeVar("T")
log = structlog.get_logger("api")

RPC_TIMEOUT = timedelta(seconds=5)
TASK_START_DEADLINE = 5.0  # seconds a claim waits for a task its lead is starting
# The whole of one call, its retries included (an update waits for a worker to run it).
DEADLINE = 10.0
TASK_LIST_LIMIT = 200


class NotRunning(Exception):
    """The workflow does not exist or has already closed."""


async def guarded(call: Awaitable[T], what: str, deadline: float = DEADLINE) -> T:
    """Run one Temporal call under a deadline; translate what can go wrong into ApiErrors."""
    try:
        return await asyncio.wait_for(call, deadline)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise ApiError(
            503, "temporal_timeout", f"Temporal did not answer in time ({what})"
        ) from None
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise ApiError(409, "refused", reason) from None
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as error:
        raise ApiError(409, "not_ready", str(error)) from None
    except RPCError as error:
        raise _rpc_error(error, what) from None
    except RuntimeError as error:  # the SDK's "failed client connect"
        if "connect" in str(error).lower():
            raise ApiError(
                503, "temporal_unavailable", f"Temporal is not reachable ({what})"
            ) from None
        raise


def _rpc_error(error: RPCError, what: str) -> Exception:
    if error.status is RPCStatusCode.NOT_FOUND:
        return NotRunning(what)
    if error.status is RPCStatusCode.RESOURCE_EXHAUSTED:
        return ApiError(429, "throttled", f"Temporal is throttling requests ({what}); retry later")
    if error.status in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
    ):
        return ApiError(503, "temporal_unavailable", f"Temporal is not reachable ({what})")
    # Anything else (a missing search attribute on a cluster, a permission): ours to fix, and
    # the caller should retry later rather than see an internal error.
    return ApiError(503, "temporal_error", f"Temporal refused the request ({what})")


class Engine:
    """The API's gateway to Temporal: one client, the dealers of one configuration."""

    def __init__(self, client: Client, config: Config) -> None:
        self.client = client
        self.config = config

    # --- leads ----------------------------------------------------------------------------

    async def start(
        self, dealer: Dealer, lead: Lead, reply: CustomerReplied | None = None
    ) -> IntakeResult:
        result = await guarded(
            start_lead(
                self.client, self.config, dealer, lead, rpc_timeout=RPC_TIMEOUT, reply=reply
            ),
            "start lead",
        )
        log.info("lead_accepted", lead_id=result.lead_id, duplicate=result.duplicate)
        return result

    async def signal(self, lead_id: str, signal: Callable[..., Any], arg: Any) -> bool:
        """Signal a running lead; False when it does not exist or has closed."""
        handle = self.client.get_workflow_handle(lead_id)
        try:
            await guarded(handle.signal(signal, arg, rpc_timeout=RPC_TIMEOUT), "signal lead")
        except NotRunning:
            return False
        log.info("lead_signalled", lead_id=lead_id, signal=getattr(signal, "__name__", "?"))
        return True

    async def update(
        self, lead_id: str, update: Any, arg: Any, update_id: str | None = None
    ) -> Any:
        """Run an update of a running lead (`update_id`: Temporal answers a repeated id with
        the first one's result); 409 when the lead has closed."""
        handle = self.client.get_workflow_handle_for(LeadFollowUp.run, lead_id)
        try:
            return await guarded(
                handle.execute_update(update, arg, id=update_id, rpc_timeout=RPC_TIMEOUT),
                "update lead",
            )
        except NotRunning:
            state = await self.state(lead_id)  # 404 when there is no such lead at all
            raise ApiError(409, "refused", f"the lead is already {state.status.value}") from None

    async def send_message(self, lead_id: str, request: SendMessage, key: str) -> ThreadMessage:
        """A salesperson's message: the client's idempotency key is the update id, and the
        workflow remembers it too (a retry after continue-as-new still sends once)."""
        update_id = f"message-{request.salesperson_id}-{key}"  # one writer's keys, not all
        message: ThreadMessage = await self.update(
            lead_id, LeadFollowUp.send_message, request, update_id=update_id
        )
        return message

    async def state(self, lead_id: str) -> LeadState:
        """The lead's state; 404 when there is none, or it was erased."""
        try:
            state: LeadState = await self._read(lead_id, LeadFollowUp.state, "query lead")
        except NotRunning:
            raise ApiError(404, "unknown_lead", "no such lead") from None
        return state

    async def _read(self, workflow_id: str, query: Callable[..., Any], what: str) -> Any:
        """Query a workflow, running or closed (a closed one answers from its history).
        NotRunning when there is none, or when it was erased: Temporal removes an erased
        history asynchronously, and until it has, the history would still answer with the
        customer's data — once erasure has said 204, the lead reads as gone."""
        handle = self.client.get_workflow_handle(workflow_id)

        async def ask() -> Any:
            try:
                return await handle.query(
                    query, reject_condition=QueryRejectCondition.NOT_OPEN, rpc_timeout=RPC_TIMEOUT
                )
            except WorkflowQueryRejectedError as closed:
                terminated = closed.status == WorkflowExecutionStatus.TERMINATED
                if terminated and await self._erased(workflow_id):
                    raise NotRunning(workflow_id) from None
            return await handle.query(query, rpc_timeout=RPC_TIMEOUT)

        return await guarded(ask(), what)

    async def _erased(self, workflow_id: str) -> bool:
        """Whether the current run of `workflow_id` was terminated by an erasure: its last
        event (one page of the reversed history) is the termination, with our reason."""
        request = GetWorkflowExecutionHistoryReverseRequest(
            namespace=self.client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id),
            maximum_page_size=1,
        )
        try:
            response = await self.client.workflow_service.get_workflow_execution_history_reverse(
                request, retry=True, timeout=RPC_TIMEOUT
            )
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return True  # deleted in the meantime
            raise
        events = response.history.events
        return bool(events) and (
            events[0].HasField("workflow_execution_terminated_event_attributes")
            and events[0].workflow_execution_terminated_event_attributes.reason == ERASED
        )

    # --- tasks ----------------------------------------------------------------------------

    async def tasks(self, dealer: Dealer) -> list[TaskState]:
        query = (
            f"WorkflowType = 'SalesTask' AND ExecutionStatus = 'Running' "
            f"AND DealerId = '{dealer.id}' AND TaskStatus IN ('open', 'claimed')"
        )
        # One visibility query; each task keeps its listing in its memo, so a busy or absent
        # worker never slows the list down.
        return await guarded(self._listed_tasks(query), "list tasks")

    async def _listed_tasks(self, query: str) -> list[TaskState]:
        tasks = []
        async for execution in self.client.list_workflows(
            query, limit=TASK_LIST_LIMIT, rpc_timeout=RPC_TIMEOUT
        ):
            found = await execution.memo()
            if memo.TASK in found:  # set in the task's first workflow task
                task = TaskState.model_validate(found[memo.TASK])
                if task.status is not TaskStatus.DONE:
                    tasks.append(task)
        return tasks

    async def task_state(self, task_id: str) -> TaskState | None:
        try:
            state: TaskState = await self._read(task_id, SalesTask.state, "query task")
        except NotRunning:
            return None
        return state

    async def claim(self, task_id: str, salesperson_id: str, reassign: bool = False) -> TaskState:
        """Claim a task (`reassign`: a manager gives it to `salesperson_id`)."""
        handle = self.client.get_workflow_handle_for(SalesTask.run, task_id)
        claim = Claim(salesperson_id=salesperson_id)
        update = SalesTask.reassign if reassign else SalesTask.claim
        for _ in range(2):  # the second time: the task was still starting the first time
            try:
                state: TaskState = await guarded(
                    handle.execute_update(update, claim, rpc_timeout=RPC_TIMEOUT),
                    "claim task",
                )
            except NotRunning:
                found = await self._task_once_started(task_id)
                if found is None:
                    raise ApiError(404, "unknown_task", "no such task") from None
                if found.status is TaskStatus.DONE:
                    raise ApiError(409, "refused", "the task is already done") from None
                continue
            return state
        raise ApiError(503, "temporal_timeout", "the task did not accept the claim; retry")

    async def _task_once_started(self, task_id: str) -> TaskState | None:
        """The task's state; a task its lead has just opened (the lead names it while
        Temporal starts its workflow, a moment after the customer's reply) is waited for."""
        found = await self.task_state(task_id)
        if found is not None:
            return found
        lead_id = task_lead(task_id)
        if lead_id is None:
            return None
        try:
            opening = (await self.state(lead_id)).open_task_id == task_id
        except (ApiError, NotRunning):
            return None
        deadline = asyncio.get_running_loop().time() + TASK_START_DEADLINE
        while opening and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)  # the child's start is a server round trip away
            found = await self.task_state(task_id)
            if found is not None:
                return found
        return None
