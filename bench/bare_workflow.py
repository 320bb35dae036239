"""The floor of the speed-to-lead bench: a workflow that runs one activity and ends."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bare_activities import BareActivities


@workflow.defn(name="BenchBare")
class BareWorkflow:
    @workflow.run
    async def run(self, bench_id: str) -> None:
        await workflow.execute_activity_method(
            BareActivities.append, bench_id, start_to_close_timeout=timedelta(seconds=30)
        )
