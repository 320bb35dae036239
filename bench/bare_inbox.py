"""The floors of bench/inbox.py: a bare workflow that, on a signal, upserts a search attribute
(as a task becomes listed), and whose update runs one sending activity (as a salesperson's
message does). Its own module: the sandbox re-imports a workflow's module, which must stay
small."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey

TASK_STATUS = SearchAttributeKey.for_keyword("TaskStatus")


@workflow.defn(name="BenchInboxFloor")
class Floor:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.signal
    def listed(self) -> None:
        workflow.upsert_search_attributes([TASK_STATUS.value_set("open")])

    @workflow.signal
    def finish(self) -> None:
        self._done = True

    @workflow.update
    async def send(self, to: str) -> None:
        await workflow.execute_activity(
            "bench_send", to, start_to_close_timeout=timedelta(seconds=30)
        )
