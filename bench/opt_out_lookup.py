"""What a new lead's look-up of opt-outs kept after erasure costs the worker.

    .venv/bin/python bench/opt_out_lookup.py [--calls N]

Runs `DealerActivities.opted_out_channels` (one describe per e-mail address and per number)
against a dev server of its own, for a customer with an address and a number and no opt-out
kept (the common case), then with one kept, and prints wall time and the worker's own Python
CPU per look-up. The server's share shows in `make bench-intake`'s CPU per process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from harness import dev_server

from activities.dealers import DealerActivities
from config_file import load_config
from contracts.activities import ContactKeysRequest
from leads.identity import opt_out_id
from leads.models import Channel
from workflows.opt_out import OptOut

IDENTIFIERS = ["email:bench.customer@example.nl", "phone:+31611220000"]


async def measure(activities: DealerActivities, request: ContactKeysRequest, calls: int) -> str:
    for _ in range(20):  # warm the connection and the code paths
        await activities.opted_out_channels(request)
    walls = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        await activities.opted_out_channels(request)
        walls.append((time.perf_counter() - start) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / calls
    p99 = statistics.quantiles(walls, n=100)[98]
    p50 = statistics.median(walls)
    return f"wall p50 {p50:.2f} ms, p99 {p99:.2f} ms; worker CPU {cpu_ms:.2f} ms"


async def main(calls: int) -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "blanco.toml")
    dealer = config.dealers[0]
    request = ContactKeysRequest(dealer_id=dealer.id, identifiers=IDENTIFIERS)
    async with dev_server("blanco-bench-optout-") as (_, env):
        activities = DealerActivities(config, env.client)
        print(f"no opt-out kept ({calls} look-ups): {await measure(activities, request, calls)}")
        # One kept for the number (its memo is written by the workflow's first task: a worker
        # is not needed for the describe, but the memo is, so write it at start instead).
        await env.client.start_workflow(
            OptOut.run,
            [Channel.SMS],
            id=opt_out_id(dealer.id, dealer.webhook_secret, IDENTIFIERS[1]),
            task_queue="bench-no-worker",
            memo={"channels": ["sms"]},
        )
        print(f"one opt-out kept ({calls} look-ups): {await measure(activities, request, calls)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(main(parser.parse_args().calls))
