"""SalesTask: one piece of human work on a lead (rule 6, docs/architecture.md).

Kinds: `reply` (the customer answered), `call` (the customer asked for a call), `no_channel`
(nothing can reach the customer: find them on the platform they wrote on). The task alerts
the sales team when it opens (a call task when its business-hours slot comes), reminds after
`remind_after`, and alerts managers after `escalate_after` while nobody has claimed it. It
ends when the lead records an outcome or a call, or (patch `task-follows-lead`) when a check
finds its lead ended without telling it: terminated by an operator, erased.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as names
    from contracts import memo
    from contracts import search_attributes as sa
    from contracts.activities import AlertRequest, AlertResult, AlertStage, LeadCheck
    from leads.models import (
        Payload,
        Progress,
        TaskClaimed,
        TaskInput,
        TaskState,
        TaskStatus,
    )
    from workflows.activity_failures import ACTIVITY_FAILED, failure_cause

TASK_MEMO_PATCH = "task-memo"
CLAIM_TELLS_LEAD_PATCH = "claim-tells-lead"
# A task whose lead was terminated or erased is never told (issue 13, hazard 3): once it has
# nothing else to wait for, it asks how its lead stands every LEAD_CHECK_INTERVAL and ends
# when the lead has (activities.lead_check decides which closes count). Daily: a task is
# usually done within hours, so most never check, and a forgotten one adds a marker a day.
TASK_FOLLOWS_LEAD_PATCH = "task-follows-lead"
LEAD_CHECK_INTERVAL = timedelta(hours=24)
LEAD_CHECK_TIMEOUT = timedelta(seconds=10)
# A check that cannot get an answer within this gives up until the next one.
LEAD_CHECK_DEADLINE = timedelta(minutes=1)
LEAD_ENDED_REASON = "lead ended"  # the done reason: no personal data
ALERT_TIMEOUT = timedelta(seconds=30)
ALERT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1)
)


class Claim(Payload):
    salesperson_id: str


@workflow.defn(name="SalesTask")
class SalesTask:
    @workflow.init
    def __init__(self, task: TaskInput) -> None:
        self._task = task
        self._status = TaskStatus.OPEN
        self._assigned_to: str | None = None
        self._opened_at = workflow.now()
        self._reminded = False
        self._escalated = False
        self._replies = 0
        # Every task there is keeps its memo: no history lacks the patch, so it no longer
        # branches (docs/changing-workflows.md, "task-memo").
        workflow.deprecate_patch(TASK_MEMO_PATCH)
        self._follows_lead = workflow.patched(TASK_FOLLOWS_LEAD_PATCH)

    @workflow.run
    async def run(self, task: TaskInput) -> TaskState:
        workflow.upsert_search_attributes(
            [
                sa.DEALER_ID.value_set(task.dealer_id),
                sa.TASK_KIND.value_set(task.kind.value),
                sa.TASK_STATUS.value_set(TaskStatus.OPEN.value),
                sa.ASSIGNED_TO.value_set(""),
            ]
        )
        workflow.set_current_details(f"open: {task.summary}")
        self._publish()
        self._log("task_started", kind=task.kind.value)
        start = max(workflow.now(), task.due_at or workflow.now())
        if await self._wait_unclaimed_until(start, f"call slot {start:%a %H:%M}"):
            await self._alert("open")
            for stage, after in (("remind", task.remind_after), ("escalate", task.escalate_after)):
                if not await self._wait_unclaimed_until(start + after, f"{stage} if unclaimed"):
                    break
                await self._alert(stage)  # type: ignore[arg-type]
        if self._follows_lead:
            await self._until_done_or_lead_ended()
        else:
            await workflow.wait_condition(lambda: self._status is TaskStatus.DONE)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state()

    async def _until_done_or_lead_ended(self) -> None:
        """Wait for the lead to say the work is done, asking every LEAD_CHECK_INTERVAL
        whether it still can."""
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    self._is_done, timeout=LEAD_CHECK_INTERVAL, timeout_summary="check on the lead"
                )
            if self._is_done():
                return
            check = await self._check_lead()
            if self._is_done():  # the lead said so during the check
                return
            if check is not None and check.ended:
                self._done(LEAD_ENDED_REASON, lead=check.status)
                return

    def _is_done(self) -> bool:
        return self._status is TaskStatus.DONE

    async def _check_lead(self) -> LeadCheck | None:
        """How the lead stands; None when the check failed: the task stays as it is."""
        try:
            # Local: one marker per check in the task's history, where an activity costs six
            # events more.
            check: LeadCheck = await workflow.execute_local_activity(
                names.CHECK_LEAD,
                self._task.lead_id,
                result_type=LeadCheck,
                start_to_close_timeout=LEAD_CHECK_TIMEOUT,
                schedule_to_close_timeout=LEAD_CHECK_DEADLINE,
                summary="check on the lead",
            )
            return check
        except ACTIVITY_FAILED as error:  # a local activity's failure, or its deadline
            self._log("lead_check_failed", error=type(failure_cause(error)).__name__)
            return None

    async def _wait_unclaimed_until(self, at: datetime, summary: str) -> bool:
        """Wait until `at`; True when the task is still unclaimed and not done by then."""
        remaining = (at - workflow.now()).total_seconds()
        if remaining > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: self._status is not TaskStatus.OPEN,
                    timeout=remaining,
                    timeout_summary=summary,
                )
        return self._status is TaskStatus.OPEN

    def _publish(self) -> None:
        """The task as the salesperson API lists it, in the memo: one visibility query lists
        every task without asking each workflow (or a worker) anything."""
        workflow.upsert_memo({memo.TASK: self._state().model_dump(mode="json")})

    async def _alert(self, stage: AlertStage) -> None:
        if stage == "remind":
            self._reminded = True
        elif stage == "escalate":
            self._escalated = True
        if stage in ("remind", "escalate"):
            self._publish()
        self._log("task_alert", stage=stage)
        await workflow.execute_activity(
            names.ALERT_SALESPEOPLE,
            AlertRequest(
                dealer_id=self._task.dealer_id,
                task_id=self._task.task_id,
                lead_id=self._task.lead_id,
                kind=self._task.kind,
                stage=stage,
                summary=self._summary(),
            ),
            start_to_close_timeout=ALERT_TIMEOUT,
            retry_policy=ALERT_RETRY,
            result_type=AlertResult,
            summary=f"alert salespeople: {stage}",
        )

    def _log(self, event: str, **fields: object) -> None:
        """A line for operators (silent while replaying): ids and statuses only."""
        task = self._task
        extra = {"lead_id": task.lead_id, "dealer": task.dealer_id, "task_id": task.task_id}
        workflow.logger.info(event, extra={**extra, **fields})

    def _summary(self) -> str:
        return self._task.summary_claimed if self._assigned_to else self._task.summary

    def _state(self) -> TaskState:
        return TaskState(
            task_id=self._task.task_id,
            lead_id=self._task.lead_id,
            dealer_id=self._task.dealer_id,
            kind=self._task.kind,
            status=self._status,
            assigned_to=self._assigned_to,
            summary=self._summary(),
            opened_at=self._opened_at,
            due_at=self._task.due_at,
            reminded=self._reminded,
            escalated=self._escalated,
        )

    @workflow.update
    async def claim(self, claim: Claim) -> TaskState:
        return await self._take(claim)

    async def _take(self, claim: Claim) -> TaskState:
        self._assigned_to = claim.salesperson_id
        self._status = TaskStatus.CLAIMED
        workflow.upsert_search_attributes(
            [
                sa.TASK_STATUS.value_set(TaskStatus.CLAIMED.value),
                sa.ASSIGNED_TO.value_set(claim.salesperson_id),
            ]
        )
        workflow.set_current_details(f"claimed by {claim.salesperson_id}: {self._summary()}")
        self._publish()
        self._log("task_claimed", salesperson=claim.salesperson_id)
        if workflow.patched(CLAIM_TELLS_LEAD_PATCH):
            await self._tell_lead(claim.salesperson_id)
        return self._state()

    async def _tell_lead(self, salesperson_id: str) -> None:
        """The lead learns who took its task: only they (or a manager) write to the customer.
        A lead that has closed meanwhile has nothing to learn."""
        lead = workflow.get_external_workflow_handle(self._task.lead_id)
        try:
            await lead.signal(
                "task_claimed",
                TaskClaimed(task_id=self._task.task_id, salesperson_id=salesperson_id),
            )
        except FailureError as error:
            self._log("lead_not_told", error=type(error).__name__)

    @claim.validator
    def _validate_claim(self, claim: Claim) -> None:
        if self._status is TaskStatus.DONE:
            raise ApplicationError("the task is already done")
        if self._assigned_to and self._assigned_to != claim.salesperson_id:
            raise ApplicationError(f"the task is already claimed by {self._assigned_to}")

    @workflow.update
    async def reassign(self, claim: Claim) -> TaskState:
        """A manager hands the task to another salesperson, claimed or not (the API checks
        the caller is a manager)."""
        return await self._take(claim)

    @reassign.validator
    def _validate_reassign(self, claim: Claim) -> None:
        if self._status is TaskStatus.DONE:
            raise ApplicationError("the task is already done")

    @workflow.signal
    async def lead_progress(self, progress: Progress) -> None:
        self._done(progress.what)

    def _done(self, what: str, **fields: object) -> None:
        """Done: the search attribute, the details and the memo say so, and every task list
        (which lists from them) drops it."""
        self._status = TaskStatus.DONE
        workflow.upsert_search_attributes([sa.TASK_STATUS.value_set(TaskStatus.DONE.value)])
        workflow.set_current_details(f"done: {what}")
        self._publish()
        self._log("task_done", what=what, **fields)

    @workflow.signal
    async def customer_replied(self) -> None:
        """The customer wrote again while this task is open: tell the team at once."""
        self._replies += 1
        if self._status is not TaskStatus.DONE:
            await self._alert("reply")

    @workflow.query
    def state(self) -> TaskState:
        return self._state()
