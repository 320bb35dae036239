"""The floor of the benches: a bare workflow that runs one file-appending activity and then
sleeps (issue 12), as a lead does between its touches. The benches wait for the activity's
line, never for the workflow to end; the sleep is what keeps N of them in the worker's cache
and on the server, next to N sleeping leads."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bare_activities import BareActivities

SLEEP = timedelta(days=14)  # a lead's whole cadence


@workflow.defn(name="BenchBare")
class BareWorkflow:
    @workflow.run
    async def run(self, bench_id: str) -> None:
        await workflow.execute_activity_method(
            BareActivities.append, bench_id, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.sleep(SLEEP)
