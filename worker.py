"""Runs the Temporal worker: the LeadFollowUp, SalesTask, OptOut, SignIn and Erasure workflows
and their activities.

    python worker.py

Registers missing search attributes when the server allows it (the dev server does);
otherwise logs which ones an operator has to register.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.alerts import AlertActivities
from activities.dealers import DealerActivities
from activities.erasure import ErasureActivities
from activities.lead_check import LeadCheckActivities
from activities.results import ResultsActivities
from activities.senders import Senders
from activities.sending import SendingActivities
from client import connect, register_search_attributes, search_attribute_registrations
from codec import CodecKeyError
from config_file import load_config
from leads.config import Config, ConfigError
from logs import ActivityLogContext, configure_logging, core_logging
from results.store import ResultsStore
from workflows.erasure import Erasure
from workflows.lead_follow_up import LeadFollowUp
from workflows.metrics import FIRST_RESPONSE, FIRST_RESPONSE_BUCKETS
from workflows.opt_out import OptOut
from workflows.sales_task import SalesTask
from workflows.sign_in import SignIn

log = structlog.get_logger("worker")

# Where PYTHONDONTWRITEBYTECODE is set (as on the project's machines) every import would
# compile its source again. Cached bytecode is safe: it is derived from the same files.
sys.dont_write_bytecode = False


def workflow_runner(sandboxed: bool = True) -> WorkflowRunner:
    """The sandbox, with every module passed through, or none (`sandboxed=False`).

    Sandboxed, the runtime checks stay (a workflow that reads the clock, the network or a
    file fails its task) but the workflow modules are not executed again for every run: that
    re-import protects module-level state only, and no workflow module here has any
    (tests/unit/test_workflow_modules.py keeps it so). The test suite runs every workflow
    this way, so a workflow that breaks the sandbox's rules fails there."""
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
    )


SANDBOX_SETTING = "BLANCO_WORKFLOW_SANDBOX"


def sandbox_wanted(env: Mapping[str, str] = os.environ) -> bool:
    """Whether `worker.py` runs its workflows in the sandbox: `off` unless set to `on`. Its
    checks cost a lead about as much CPU as the whole floor workflow (docs/benchmarks.md) and
    catch what the test suite, sandboxed, already catches; `on` buys them back."""
    value = env.get(SANDBOX_SETTING, "").strip().lower() or "off"
    if value not in ("on", "off"):
        raise ValueError(f"{SANDBOX_SETTING} must be on or off, not {value!r}")
    return value == "on"


# Runs kept in memory between their workflow tasks (the SDK's default is 1,000). A lead
# sleeps hours to days between touches, so a cached lead is memory spent for nothing; one
# that was evicted replays its few dozen events when it wakes. What the cache does buy is the
# burst: a lead's first workflow tasks come seconds apart. 250 keeps the worker under 250 MB
# with 10,000 leads asleep (bench/close_to_floor.py, docs/benchmarks.md).
WORKFLOW_CACHE = 250

DEFAULT_METRICS = "0.0.0.0:9464"  # Prometheus: the SDK's and Blanco's series; the probes' target


def metrics_runtime(bind_address: str) -> Runtime:
    """The SDK's own metrics (task latencies, slots, polls, failures) and Blanco's business
    series (workflows/metrics.py, the send activity) on a Prometheus endpoint. Their labels
    are namespaces, task queues, workflow/activity types, dealer ids, channels, lead kinds and
    outcomes: never personal data. Blanco's names carry their `_total` / `_seconds` already,
    so the runtime adds no suffixes (which would also rename the SDK's series)."""
    prometheus = PrometheusConfig(
        bind_address=bind_address,
        histogram_bucket_overrides={FIRST_RESPONSE: FIRST_RESPONSE_BUCKETS},
    )
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=prometheus,
            logging=core_logging(),  # the SDK core's warnings as our JSON lines
        )
    )


WORKFLOWS = (LeadFollowUp, SalesTask, OptOut, SignIn, Erasure)


def activities(
    config: Config,
    senders: Senders,
    client: Client | None,
    results: ResultsStore | None = None,
) -> list[Callable[..., Any]]:
    """Every activity the worker runs, bound to its configuration, providers and results
    store (None: `BLANCO_RESULTS_URL`, opened at the first write)."""
    milestones = ResultsActivities(results)
    sending = SendingActivities(config, senders, milestones)  # a first answer's figures
    alerts = AlertActivities(config, senders)
    dealers = DealerActivities(config, client, sending)  # the first answer, at opening
    # The worker writes the outbox and the results store, so its erasure edits them.
    erasure = ErasureActivities(config, client, senders.outbox, milestones)
    leads = LeadCheckActivities(client)  # a task asks whether its lead has ended
    return [
        milestones.record_conversation,
        sending.send_touch,
        sending.send_message,
        alerts.alert_salespeople,
        dealers.open_lead,
        dealers.load_dealer_plan,
        dealers.contact_keys,
        dealers.opted_out_channels,
        erasure.end_workflows,
        erasure.what_survives,
        erasure.keep_opt_outs,
        erasure.find_histories,
        erasure.delete_histories,
        erasure.erase_outbox,
        erasure.unlink_results,
        leads.check_lead,
    ]


def build_worker(
    client: Client,
    config: Config,
    senders: Senders,
    task_queue: str | None = None,
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
    results: ResultsStore | None = None,
    sandboxed: bool = True,
) -> Worker:
    """`wrap`: applied to every activity (the history recorder's stand-in for a newer
    version's activities). `sandboxed`: tests keep the default; `worker.py` asks
    `sandbox_wanted()`."""
    run = activities(config, senders, client, results)
    return Worker(
        client,
        task_queue=task_queue or config.temporal.task_queue,
        max_cached_workflows=int(os.environ.get("BLANCO_WORKFLOW_CACHE", WORKFLOW_CACHE)),
        workflows=list(WORKFLOWS),
        activities=[wrap(fn) for fn in run] if wrap else run,
        workflow_runner=workflow_runner(sandboxed),
        interceptors=[ActivityLogContext(config.dealer_ids)],
    )


async def ensure_search_attributes(client: Client) -> None:
    try:
        added = await register_search_attributes(client)
    except RPCError as error:
        wanted = ", ".join(f"{n}={k}" for n, k in search_attribute_registrations().items())
        log.warning("search_attributes_not_registered", error=str(error), register=wanted)
        return
    if added:
        log.info("search_attributes_registered", names=added)


async def main() -> int:
    try:
        config = load_config()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        sandboxed = sandbox_wanted()
    except ValueError as error:
        print(f"worker: {error}", file=sys.stderr)
        return 2
    configure_logging(dealer_ids=config.dealer_ids)
    metrics = os.environ.get("BLANCO_WORKER_METRICS", DEFAULT_METRICS)
    try:
        client = await connect(runtime=metrics_runtime(metrics))
    except CodecKeyError as error:
        print(f"worker: {error}", file=sys.stderr)
        return 2
    await ensure_search_attributes(client)
    senders = Senders.from_env(config.api.public_base_url)
    results = ResultsStore.from_env()
    # Migrated before the first lead: a schema error stops start-up instead of every write.
    await asyncio.to_thread(results.upgrade)
    worker = build_worker(client, config, senders, results=results, sandboxed=sandboxed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker_started",
        task_queue=config.temporal.task_queue,
        senders=senders.describe(),
        metrics=f"http://{metrics}/metrics",
        results=results.describe(),
        sandboxed=sandboxed,
    )
    async with worker:
        await stop.wait()
    log.info("worker_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
