"""Patch `task-follows-lead` (issue 13, hazard 3): a `SalesTask` whose lead ended without
telling it (an operator terminated it, an erasure) ends itself at its next daily check,
while a task whose lead runs on (or continued as new) stays open. On the time-skipping
server, with the real worker and its `check_lead` activity."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts import memo
from contracts import search_attributes as sa
from contracts.activities import LeadCheck
from leads.models import CustomerReplied, Lead, LeadState, TaskState, TaskStatus
from tests.conftest import eventually, in_flight, make_config, terminate_settled
from tests.workflows.test_lead_follow_up import Engine, engine_for
from tests.workflows.test_lean_history import local_activities
from tests.workflows.test_results import replacing
from workflows.lead_follow_up import LeadFollowUp
from workflows.sales_task import LEAD_CHECK_INTERVAL, SalesTask

STEP = timedelta(hours=6)  # time skipped per poll: four polls a check interval


@pytest.fixture
async def engine(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    async with engine_for(time_env, outbox_path, make_config()) as each:
        yield each


@activity.defn(name="check_lead")
async def unanswered_check(lead_id: str) -> LeadCheck:
    """A check whose describe never gets an answer (retries spent, as after a minute of it)."""
    raise ApplicationError("the server did not answer", type="Unavailable", non_retryable=True)


@pytest.fixture
async def unanswered(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    """A worker whose lead checks all fail."""
    wrap = replacing("check_lead", unanswered_check)
    async with engine_for(time_env, outbox_path, make_config(), wrap=wrap) as engine:
        yield engine


@pytest.fixture
async def chatty(time_env: WorkflowEnvironment, outbox_path: Path) -> AsyncIterator[Engine]:
    """A dealer with the lowest history limit: a few inquiries make the lead continue as new."""
    config = make_config(history_limit=50, contact_window="always", business_hours="always")
    async with engine_for(time_env, outbox_path, config) as each:
        yield each


def customer() -> dict[str, str]:
    return {"name": "Pieter", "email": f"pieter.{uuid.uuid4().hex[:12]}@example.nl"}


async def replied(
    engine: Engine, person: dict[str, str]
) -> tuple[WorkflowHandle[LeadFollowUp, LeadState], WorkflowHandle[SalesTask, TaskState]]:
    """A lead whose customer answered, and its reply task once that runs."""
    lead = await engine.start(customer=person)
    await engine.until(lead, lambda s: len(s.touches) == 1)
    await lead.signal(LeadFollowUp.customer_replied, CustomerReplied(channel="email", text="Ja"))
    state = await engine.until(lead, lambda s: s.open_task_id is not None)
    task_id = state.open_task_id or ""
    task = engine.env.client.get_workflow_handle_for(SalesTask.run, task_id)
    await eventually(lambda: engine.task(task_id), lambda t: t.status is TaskStatus.OPEN)
    return lead, task


async def status(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> Status:
    """The latest run's status, from the raw description: the SDK's `describe()` cannot
    decode the test server's search attributes once one was unset (a lead's NextTouchAt)."""
    described = await env.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=env.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )
    return Status(described.workflow_execution_info.status)


async def skip_until_closed(
    env: WorkflowEnvironment, task: WorkflowHandle[SalesTask, TaskState], at_most: timedelta
) -> None:
    """Skip up to `at_most` of workflow time, until the task's run closes. Once an abandoned
    child of a terminated parent completes, the test server skips no more time (a sleep in
    progress never returns): that sleep is dropped, and the server (the test's own) with it."""
    skipping = asyncio.ensure_future(env.sleep(at_most))
    try:
        await eventually(lambda: status(env, task), lambda s: s is not Status.RUNNING)
    finally:
        skipping.cancel()
        with contextlib.suppress(asyncio.CancelledError, RPCError):
            await skipping


async def checks(task: WorkflowHandle[SalesTask, TaskState]) -> int:
    return (await local_activities(task)).count("check_lead")


async def test_a_task_whose_lead_an_operator_terminated_ends_itself_at_the_next_check(
    own_time_env: WorkflowEnvironment, outbox_path: Path
) -> None:
    async with engine_for(own_time_env, outbox_path, make_config()) as engine:
        await a_task_whose_lead_was_terminated_ends_itself(engine)


async def a_task_whose_lead_was_terminated_ends_itself(engine: Engine) -> None:
    lead, task = await replied(engine, customer())
    await terminate_settled(engine.env.client, lead.id, "operator: duplicate lead")
    terminated_at = await engine.env.get_current_time()
    escalation = engine.config.dealers[0].escalate_after
    await skip_until_closed(engine.env, task, escalation + LEAD_CHECK_INTERVAL + STEP)
    final = await task.result()
    assert final.status is TaskStatus.DONE
    described = await task.describe()
    assert described.status is Status.COMPLETED
    # What the salesperson API lists from: running tasks whose TaskStatus is open or claimed,
    # read from their memo.
    assert described.typed_search_attributes.get(sa.TASK_STATUS) == TaskStatus.DONE.value
    listed = TaskState.model_validate((await described.memo())[memo.TASK])
    assert listed.status is TaskStatus.DONE
    assert await checks(task) == 1  # the first check found it
    closed_at = described.close_time
    assert isinstance(closed_at, datetime)
    # Its first check comes a day after it stopped waiting for anything (the escalation).
    assert closed_at - terminated_at <= escalation + LEAD_CHECK_INTERVAL + STEP


async def test_a_task_whose_lead_runs_stays_open_check_after_check(engine: Engine) -> None:
    lead, task = await replied(engine, customer())
    await eventually(lambda: checks(task), lambda n: n >= 3, env=engine.env, step=STEP)
    state = await engine.task(task.id)
    assert state.status is TaskStatus.OPEN
    assert await status(engine.env, task) is Status.RUNNING
    assert await status(engine.env, lead) is Status.RUNNING


async def test_a_task_whose_lead_continued_as_new_stays_open(chatty: Engine) -> None:
    person = customer()
    lead, task = await replied(chatty, person)
    latest = chatty.env.client.get_workflow_handle_for(LeadFollowUp.run, lead.id)
    for number in range(40):
        if await chatty.continued_as_new(lead):
            break
        inquiry = Lead.model_validate(
            {
                "dealer_id": chatty.config.dealers[0].id,
                "source": "autoscout24",
                "external_id": f"as-{number}",
                "kind": "test_drive",
                "customer": person,
            }
        )
        await latest.signal(LeadFollowUp.new_inquiry, inquiry)
        # One at a time, each settled: no signal meets the continue-as-new half-way.
        await eventually(lambda: in_flight(chatty.env.client, lead.id), lambda busy: not busy)
    assert await chatty.continued_as_new(lead)
    await eventually(lambda: checks(task), lambda n: n >= 2, env=chatty.env, step=STEP)
    state = await chatty.task(task.id)
    assert state.status is TaskStatus.OPEN
    assert await status(chatty.env, task) is Status.RUNNING
    assert await status(chatty.env, latest) is Status.RUNNING  # the lead's next run


async def test_a_failed_check_never_ends_the_task(unanswered: Engine) -> None:
    """A lead terminated, and no check gets an answer: the task waits for one that does."""
    lead, task = await replied(unanswered, customer())
    await terminate_settled(unanswered.env.client, lead.id, "operator: duplicate lead")
    await eventually(lambda: checks(task), lambda n: n >= 2, env=unanswered.env, step=STEP)
    assert (await unanswered.task(task.id)).status is TaskStatus.OPEN
    assert await status(unanswered.env, task) is Status.RUNNING
