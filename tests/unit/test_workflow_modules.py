"""Every run of a workflow shares its module (worker.workflow_runner passes all modules
through the sandbox instead of executing them again per run). That is safe only while no
workflow module holds state a run could change: these tests keep it so, and prove that the
sandbox's runtime checks still stop a workflow that reads the clock."""

from __future__ import annotations

import importlib
import pkgutil
import types
import typing
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.worker import Worker

import workflows as workflow_package
from tests.conftest import eventually
from worker import workflow_runner

# Values a module may hold at its top level or in a class body: immutable, or (RetryPolicy)
# a value the SDK only reads.
SHAREABLE = (
    str,
    bytes,
    int,
    float,
    bool,
    type(None),
    timedelta,
    frozenset,
    types.MappingProxyType,
    RetryPolicy,
    SearchAttributeKey,
    property,
    staticmethod,
    classmethod,
    types.FunctionType,
    types.ModuleType,
    type,
)


def _typing_construct(value: object) -> bool:
    return type(value).__module__ in ("typing", "typing_extensions", "__future__") or isinstance(
        value, types.GenericAlias | types.UnionType | typing.TypeVar
    )


def _shared_state(value: object) -> bool:
    if isinstance(value, tuple):
        return any(_shared_state(item) for item in value)
    if isinstance(value, types.MappingProxyType):
        return any(_shared_state(item) for item in value.values())
    return not (isinstance(value, SHAREABLE) or _typing_construct(value) or callable(value))


def workflow_modules() -> list[str]:
    path = [str(Path(workflow_package.__file__).parent)]
    return [f"workflows.{info.name}" for info in pkgutil.iter_modules(path)]


@pytest.mark.parametrize("name", workflow_modules())
def test_no_workflow_module_holds_state_a_run_could_change(name: str) -> None:
    module = importlib.import_module(name)
    found = []
    for key, value in vars(module).items():
        if key.startswith("__"):
            continue
        if _shared_state(value):
            found.append(f"{key}: {type(value).__name__}")
        if hasattr(value, "__temporal_workflow_definition"):
            for attr, member in vars(value).items():
                if not attr.startswith("_") and _shared_state(member):
                    found.append(f"{key}.{attr}: {type(member).__name__}")
    assert not found, f"{name} holds mutable state shared by every run: {found}"


def test_a_module_level_list_counts_as_shared_state() -> None:
    assert _shared_state([1]) and _shared_state({"a": 1}) and _shared_state((1, {2}))
    assert not _shared_state((1, "a", timedelta(1)))


@workflow.defn(name="ReadsTheClock", sandboxed=True)
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        import datetime

        return datetime.datetime.now().isoformat()


async def test_the_sandbox_still_fails_a_workflow_that_reads_the_clock(
    time_env: Any,  # a WorkflowEnvironment; typed so, it sends mypy 2.4 astray elsewhere
) -> None:
    queue = f"clock-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[ReadsTheClock],
        workflow_runner=workflow_runner(),
    ):
        handle = await time_env.client.start_workflow(
            ReadsTheClock.run, id=f"clock-{queue}", task_queue=queue
        )

        async def failed_task() -> str | None:
            history = await handle.fetch_history()
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    failure = event.workflow_task_failed_event_attributes.failure
                    decoded = await time_env.client.data_converter.decode_failure(failure)
                    return str(decoded)
            return None

        message = await eventually(failed_task, lambda found: found is not None, env=time_env)
        await handle.terminate("test done")
    assert "datetime.datetime.now" in (message or "")
