"""Worker for the floor of the benches: `BareWorkflow` and its one activity, with the SDK's
default worker settings, its sandbox included; BENCH_FLOOR_SANDBOX=off runs it unsandboxed,
as `worker.py` runs its workflows by default (docs/benchmarks.md compares the two).

    TEMPORAL_ADDRESS=127.0.0.1:7233 BENCH_TASK_QUEUE=floor BENCH_FLOOR_FILE=floor.jsonl \\
        python bench/bare_worker.py

SIGINT or SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bare_activities import BareActivities
from bare_workflow import BareWorkflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from client import connect


async def main() -> int:
    try:
        address = os.environ["TEMPORAL_ADDRESS"]
        task_queue = os.environ["BENCH_TASK_QUEUE"]
        path = Path(os.environ["BENCH_FLOOR_FILE"])
    except KeyError as missing:
        print(f"bare_worker: set {missing.args[0]}", file=sys.stderr)
        return 2
    # The same converter as the real worker (pydantic, encrypted payloads): a fair floor.
    client = await connect(address)
    sandboxed = os.environ.get("BENCH_FLOOR_SANDBOX", "on") != "off"
    # The SDK's default runner, or none
    runner: WorkflowRunner = SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow],
        activities=[BareActivities(path).append],
        workflow_runner=runner,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        await stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
