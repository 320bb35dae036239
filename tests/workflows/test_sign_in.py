"""SignIn on the time-skipping server: a link works once and expires after fifteen minutes,
a fourth link in fifteen minutes is refused (saying how long to wait), sign-out ends a
session, sessions end after twelve hours, and the workflow completes once nothing is live."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from providers.outbox import OutboxProvider
from tests.conftest import eventually, make_config, running_worker
from workflows.sign_in import (
    LINK_REFUSED,
    TOO_MANY_LINKS,
    IssueLink,
    LinkIssued,
    OpenSession,
    RedeemLink,
    SessionOpened,
    SignIn,
    SignInInput,
    SignOut,
    workflow_id,
)


def digest() -> str:
    """The hash of a fresh token, as the API stores it."""
    return hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest()


@dataclass
class Person:
    env: WorkflowEnvironment
    task_queue: str
    salesperson_id: str

    @property
    def id(self) -> str:
        return workflow_id("autohuis-test", self.salesperson_id)

    def start(self, **options: Any) -> WithStartWorkflowOperation[SignIn, None]:
        start = SignInInput(dealer_id="autohuis-test", salesperson_id=self.salesperson_id)
        return WithStartWorkflowOperation(
            SignIn.run,
            start.model_copy(update=options),
            id=self.id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    @property
    def handle(self) -> WorkflowHandle[SignIn, None]:
        return self.env.client.get_workflow_handle_for(SignIn.run, self.id)

    async def issue(self, link_hash: str) -> LinkIssued:
        return await self.env.client.execute_update_with_start_workflow(
            SignIn.issue_link, IssueLink(link_hash=link_hash), start_workflow_operation=self.start()
        )

    async def redeem(self, link_hash: str, session_hash: str) -> SessionOpened:
        return await self.handle.execute_update(
            SignIn.redeem_link, RedeemLink(link_hash=link_hash, session_hash=session_hash)
        )

    async def open(self, session_hash: str, **options: Any) -> SessionOpened:
        return await self.env.client.execute_update_with_start_workflow(
            SignIn.open_session,
            OpenSession(session_hash=session_hash),
            start_workflow_operation=self.start(**options),
        )

    async def live(self, session_hash: str) -> bool:
        return await self.handle.query(SignIn.session_live, session_hash)

    async def status(self) -> WorkflowExecutionStatus | None:
        return (await self.handle.describe()).status


def refusal(error: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> ApplicationError:
    cause = error.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


@pytest.fixture
async def person(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Person]:
    senders = Senders(outbox=OutboxProvider(tmp_path / "outbox.jsonl"))
    async with running_worker(time_env.client, make_config(), senders) as task_queue:
        each = Person(time_env, task_queue, f"jan-{uuid.uuid4().hex[:8]}")
        yield each
        # Leave nothing waiting on the shared server's clock.
        if await each.status() is WorkflowExecutionStatus.RUNNING:
            await each.handle.terminate("test done")


async def test_a_link_works_once(person: Person) -> None:
    link, session = digest(), digest()
    issued = await person.issue(link)
    opened = await person.redeem(link, session)
    assert opened.expires_at - issued.expires_at > timedelta(hours=11)
    assert await person.live(session)
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await person.redeem(link, digest())
    assert refusal(again).type == LINK_REFUSED
    assert "already used" in refusal(again).message


async def test_an_unknown_link_is_refused(person: Person) -> None:
    await person.issue(digest())
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await person.redeem(digest(), digest())
    assert refusal(unknown).type == LINK_REFUSED


async def test_a_link_expires_after_fifteen_minutes(person: Person) -> None:
    link, fresh = digest(), digest()
    await person.issue(link)
    await person.open(digest())  # a session keeps the workflow running past the link
    await person.env.sleep(timedelta(minutes=15, seconds=1))
    with pytest.raises(WorkflowUpdateFailedError) as expired:
        await person.redeem(link, digest())
    assert "expired" in refusal(expired).message
    await person.issue(fresh)  # a new link works
    await person.redeem(fresh, digest())


async def test_a_fourth_link_in_fifteen_minutes_is_refused_saying_how_long_to_wait(
    person: Person,
) -> None:
    for _ in range(3):
        await person.issue(digest())
        await person.env.sleep(timedelta(minutes=2))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await person.issue(digest())
    cause = refusal(refused)
    assert cause.type == TOO_MANY_LINKS
    seconds: Any = cause.details[0]
    assert 8 * 60 < seconds <= 9 * 60  # the first link leaves the window 15 min after it came
    assert "try again in 9 minutes" in cause.message
    await person.env.sleep(timedelta(seconds=seconds))
    await person.issue(digest())  # the window moved on


async def test_sign_out_ends_the_session_and_only_that_one(person: Person) -> None:
    phone, desktop = digest(), digest()
    await person.open(phone)
    await person.open(desktop)
    await person.handle.execute_update(SignIn.sign_out, SignOut(session_hash=phone))
    assert not await person.live(phone)
    assert await person.live(desktop)


async def test_sessions_end_after_twelve_hours_and_then_the_workflow_completes(
    person: Person,
) -> None:
    session = digest()
    await person.open(session)
    await person.env.sleep(timedelta(hours=11, minutes=59))
    assert await person.live(session)
    await person.env.sleep(timedelta(minutes=2))
    await eventually(person.status, lambda s: s is WorkflowExecutionStatus.COMPLETED, deadline=10)
    # The next sign-in starts a fresh run under the same id.
    link = digest()
    await person.issue(link)
    assert await person.status() is WorkflowExecutionStatus.RUNNING
    await person.redeem(link, digest())


async def test_a_long_history_continues_as_new_with_what_is_live(person: Person) -> None:
    sessions = [digest() for _ in range(15)]
    await person.open(sessions[0], history_limit=50)
    first_run = (await person.handle.describe()).run_id
    for session in sessions[1:]:
        await person.open(session)
    link = digest()
    await person.issue(link)
    await person.handle.execute_update(SignIn.sign_out, SignOut(session_hash=sessions[0]))
    assert (await person.handle.describe()).run_id != first_run  # 15 sessions: > 50 events
    assert not await person.live(sessions[0])
    assert all([await person.live(session) for session in sessions[1:]])
    await person.redeem(link, digest())  # the link came along
