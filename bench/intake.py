"""Intake over HTTP on this machine: signed leads POSTed to the real API process, from the
request to its 202 and from the 202 to the lead's first message in the outbox, next to
Temporal's own start rate, measured in the same run against the same server.

    .venv/bin/python bench/intake.py [--leads 200] [--rate 20] [--burst 100] [--concurrency 50]
                                     [--floor 200] [--deadline 30] [--no-breakdown]
                                     [--bytecode-cache]
    make bench-intake

1. Starts its own Temporal dev server (the venv's `temporal`, 127.0.0.1, a free port, in
   memory), `worker.py` (a temporary copy of blanco.toml on a task queue of its own, a
   temporary outbox, no SendGrid or Twilio credentials), `bench/bare_worker.py` for the floor,
   and the API as its own process (`python -m api --port <free>`, same config). Waits for
   /healthz, then one probe lead through the API and one floor workflow prove the whole path.
2. Rate: --leads leads at --rate per second (open loop), each a different customer, signed
   with the dealer's webhook secret (Standard Webhooks) and POSTed over real HTTP (httpx, at
   most --concurrency connections) to /v1/dealers/{dealer}/leads.
3. Burst: --burst leads at once, at most --concurrency in flight.
4. Floors, same server: the burst again through `client.start_lead` in this process (the
   signal-with-start the API makes, without HTTP or the API process); --floor bare
   `client.start_workflow` calls of bench/bare_workflow.py's one-activity workflow as fast as
   --concurrency allows (Temporal's own start rate); and --floor GET /healthz (the HTTP
   server's own rate).

Measured per lead, in milliseconds, all with this machine's wall clock (`time.time()`, UTC):
- HTTP accept: from just before the POST (the request signed, a connection slot held) until
  the 202 arrived. The API answers once Temporal has durably recorded the lead
  (signal-with-start); it waits for no worker, so this holds no workflow task.
- accept → outbox: from the 202's arrival until the lead's touch-1 line exists in the outbox:
  the worker's part, which starts as soon as the server recorded the lead and so overlaps the
  202's way back. A thread watches the file every millisecond and stamps each line as it
  appears (as in bench/speed_to_lead.py); the line's own `sent_at` is checked against that
  stamp. Negative only if the worker wrote the line before the 202 got back.
- send → outbox: the sum, the lead's speed to lead through the API.
Also the accepted leads per second of each phase (202s / first request to last 202), the errors
(every answer that is not 202, by status, or the exception), the CPU of every process and how
busy the machine's other processes were. The breakdown (on unless --no-breakdown) fetches every
lead's history and splits send → outbox into stages (bench/diagnostics.py); `to server` then
holds the HTTP request and the API's own work, and `recorded → answer` (the server's start
event until the 202 arrived) the way back.

Exits 0; 1 when a lead got no outbox line within --deadline seconds after its phase's last
answer (a lead whose request failed counts, unless its workflow started anyway); 2 when the
bench cannot run; 130 on Ctrl-C. Leaves no process behind.
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from diagnostics import CpuMeter, CpuSample, cpu_line, machine_busy, stages_of
from harness import (
    READY_SECONDS,
    BenchError,
    Line,
    LineWatcher,
    Machine,
    Measured,
    Summary,
    WorkerProcess,
    add_run_arguments,
    at_once,
    bench_parser,
    cancel,
    floor_starter,
    gated,
    header,
    make_lead,
    paced,
    rig,
    row,
    run_bench,
    stage_rows,
    wait_for_lines,
)
from standardwebhooks.webhooks import Webhook
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from client import start_lead
from leads.config import Config, Dealer
from leads.identity import lead_id
from leads.models import IntakeResult, Lead
from processes import Part, api_answers, free_port, wait_until_ready

TARGET_MS = 1000.0  # the target: p99 accept → outbox under 1 s at 20 leads/s
HTTP_TIMEOUT = 30.0  # seconds per request; the API's own deadline for Temporal is 10 s
PROBE_RETRY = 0.5  # seconds between probe deliveries the API refused while it connects
FETCH_CONCURRENCY = 16  # history fetches at once (breakdown)
BUSY_CPUS = 0.25  # other processes using more than this many CPUs: the machine was busy
QUIET_WINDOW = 1.0  # seconds over which the machine's load is sampled before the run
SHOWN_ERRORS = 5  # error answers printed in full (status and body) per phase


@dataclass(frozen=True)
class Settings:
    """What the command line asks for."""

    leads: int
    rate: float
    burst: int
    concurrency: int
    floor: int
    deadline: float
    breakdown: bool = True
    bytecode_cache: bool = False


# --- one lead delivered ---------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    index: int
    expected: str  # the lead id derived here from the customer, as the API derives it
    lead_id: str  # the 202's lead_id; without a 202, the expected one
    sent: float  # time.time() just before the request
    answered: float  # time.time() when the answer (or the failure) arrived
    status: int | None  # HTTP status; None: no answer (an exception, see error)
    error: str | None = None  # what a failure said
    duplicate: bool = False

    @property
    def accepted(self) -> bool:
        return self.status == 202

    @property
    def latency(self) -> float:
        return self.answered - self.sent


Deliver = Callable[[int], Awaitable[Delivery]]


def expected_id(dealer: Dealer, lead: Lead) -> str:
    """The lead id the API derives from the customer (as `client.start_lead` does)."""
    stamped = lead.model_copy(update={"dealer_id": dealer.id})
    return lead_id(dealer.id, dealer.webhook_secret, stamped, dealer.country)


def http_deliverer(http: httpx.AsyncClient, dealer: Dealer, tag: str) -> Deliver:
    """POST lead `index` of this run, signed as the dealer's platform would sign it."""
    webhook = Webhook(dealer.webhook_secret)
    path = f"/v1/dealers/{dealer.id}/leads"

    async def deliver(index: int) -> Delivery:
        lead = make_lead(index, tag)
        body = lead.model_dump_json(exclude_none=True)
        expected = expected_id(dealer, lead)
        msg_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(msg_id, now, body),
            "content-type": "application/json",
        }
        sent = time.time()
        try:
            response = await http.post(path, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            return Delivery(index, expected, expected, sent, time.time(), None, f"{error!r}")
        answered = time.time()
        if response.status_code != 202:
            return Delivery(
                index, expected, expected, sent, answered, response.status_code, response.text[:300]
            )
        try:
            result = IntakeResult.model_validate_json(response.content)
        except ValueError as error:
            return Delivery(
                index, expected, expected, sent, answered, 202, f"bad 202 body: {error!r}"
            )
        return Delivery(
            index, expected, result.lead_id, sent, answered, 202, None, result.duplicate
        )

    return deliver


def direct_deliverer(client: Client, config: Config, dealer: Dealer, tag: str) -> Deliver:
    """Lead `index` through `client.start_lead` in this process: what the API does, without
    HTTP and without the API process. A success counts as a 202."""

    async def deliver(index: int) -> Delivery:
        lead = make_lead(index, tag)
        expected = expected_id(dealer, lead)
        sent = time.time()
        try:
            async with asyncio.timeout(HTTP_TIMEOUT):
                result = await start_lead(client, config, dealer, lead)
        except Exception as error:  # a failed start is a lead without a message: counted
            return Delivery(index, expected, expected, sent, time.time(), None, f"{error!r}")
        return Delivery(
            index, expected, result.lead_id, sent, time.time(), 202, None, result.duplicate
        )

    return deliver


async def at_rate(
    count: int, rate: float, deliver: Deliver, gate: asyncio.Semaphore
) -> list[Delivery]:
    """`count` deliveries at `rate` per second, open loop: a slow answer never delays the next
    request (unless --concurrency requests are all still waiting)."""
    return await paced(count, rate, lambda index: gated(gate, deliver, index))


# --- one phase ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    deliveries: list[Delivery]
    lines: dict[str, Line]
    began: float  # time.time() when the phase sent its first request
    cpu: str = ""
    others: float = math.nan  # CPUs the machine's other processes used meanwhile
    stages: list[list[float]] = field(default_factory=list)
    answer_lag: list[float] = field(default_factory=list)  # start recorded → 202, seconds

    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.accepted]

    def accepted_per_second(self) -> float:
        accepted = self.accepted()
        if not accepted:
            return 0.0
        span = max(d.answered for d in accepted) - min(d.sent for d in self.deliveries)
        return len(accepted) / span if span > 0 else math.nan

    def reached(self) -> list[tuple[Delivery, Line]]:
        return [(d, self.lines[d.lead_id]) for d in self.deliveries if d.lead_id in self.lines]

    def accept_latencies(self) -> list[float]:
        return [d.latency for d in self.accepted()]

    def accept_to_outbox(self) -> list[float]:
        return [line.seen_at - d.answered for d, line in self.reached() if d.accepted]

    def send_to_outbox(self) -> list[float]:
        return [line.seen_at - d.sent for d, line in self.reached()]

    def all_in(self) -> float:
        """Seconds from the phase's first request until its last outbox line."""
        seen = [line.seen_at for _, line in self.reached()]
        return max(seen) - self.began if seen else math.nan

    def missing(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.lead_id not in self.lines]

    def failures(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.accepted]

    def errors(self) -> str:
        counts = Counter(
            str(d.status) if d.status is not None else (d.error or "?").split("(")[0]
            for d in self.failures()
        )
        return ", ".join(f"{what}×{n}" for what, n in counts.most_common()) or "none"

    def duplicates(self) -> int:
        return sum(1 for d in self.deliveries if d.duplicate)

    def wrong_ids(self) -> int:
        """202s whose lead_id is not the one derived here from the customer."""
        return sum(1 for d in self.deliveries if d.accepted and d.lead_id != d.expected)


def others_cpus(before: CpuSample, after: CpuSample) -> float:
    ours = sum(after.processes.values()) - sum(before.processes.values())
    elapsed = after.at - before.at
    return max(after.machine - before.machine - ours, 0.0) / elapsed if elapsed > 0 else math.nan


@dataclass(frozen=True)
class Run:
    """What every phase needs: where lines appear, which processes must stay alive."""

    watcher: LineWatcher
    processes: Sequence[WorkerProcess]
    meter: CpuMeter
    settings: Settings


async def run_phase(
    run: Run, name: str, count: int, send: Callable[[], Awaitable[list[Delivery]]]
) -> Phase:
    """Send, wait for the outbox lines, and measure the CPU from a quiet start until the
    machine is quiet again (so that work after the message counts too)."""
    await run.meter.settle()
    before = run.meter.sample()
    began = time.time()
    deliveries = await send()
    last = max(d.answered for d in deliveries)
    keys = [d.lead_id for d in deliveries]
    lines = await wait_for_lines(run.watcher, keys, run.processes, last + run.settings.deadline)
    await run.meter.settle()
    after = run.meter.sample()
    phase = Phase(name, deliveries, lines, began)
    achieved = phase.accepted_per_second()
    phase.cpu = cpu_line(before, after, count, round(achieved, 1) if achieved > 0 else 1.0)
    phase.others = others_cpus(before, after)
    return phase


# --- floors ---------------------------------------------------------------------------------


@dataclass
class Floor:
    name: str
    count: int
    latencies: list[float]  # seconds per successful call
    per_second: float
    failed: list[str]
    note: str = ""


async def calls_at_once(
    name: str, count: int, concurrency: int, call: Callable[[int], Awaitable[object]]
) -> Floor:
    """`count` calls, at most `concurrency` at a time: successes per second over the span."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failed: list[str] = []

    async def one(index: int) -> None:
        async with gate:
            began = time.perf_counter()
            try:
                async with asyncio.timeout(HTTP_TIMEOUT):
                    await call(index)
            except Exception as error:  # counted and shown, never fatal
                failed.append(f"#{index}: {error!r}")
                return
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    try:
        await asyncio.gather(*tasks)
    finally:
        await cancel(tasks)
    span = time.perf_counter() - began
    return Floor(name, count, latencies, len(latencies) / span if span > 0 else math.nan, failed)


async def temporal_floor(
    client: Client,
    settings: Settings,
    queue: str,
    tag: str,
    watcher: LineWatcher,
    processes: Sequence[WorkerProcess],
    meter: CpuMeter,
) -> Floor:
    await meter.settle()
    floor = await calls_at_once(
        "start_workflow (bare)",
        settings.floor,
        settings.concurrency,
        floor_starter(client, queue, tag),
    )
    keys = [f"floor-{tag}-{i}" for i in range(settings.floor)]
    ran = await wait_for_lines(watcher, keys, processes, time.time() + settings.deadline)
    floor.note = f"{len(ran)}/{settings.floor} ran their activity (bench/bare_worker.py)"
    return floor


async def http_floor(http: httpx.AsyncClient, settings: Settings, meter: CpuMeter) -> Floor:
    async def get(_: int) -> None:
        response = await http.get("/healthz")
        response.raise_for_status()

    await meter.settle()
    return await calls_at_once("GET /healthz (API)", settings.floor, settings.concurrency, get)


# --- where the time goes --------------------------------------------------------------------


async def fetch_stages(client: Client, phase: Phase) -> None:
    """Stages of send → outbox from each lead's history, and for the accepted ones the time
    from the server's recording the start (signal-with-start) to the 202's arrival (the way
    back)."""
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(delivery: Delivery, line: Line) -> tuple[list[float], float | None]:
        async with gate:
            history = await client.get_workflow_handle(delivery.lead_id).fetch_history()
        found = stages_of(history.events, delivery.sent, line.seen_at)
        recorded = next(
            (
                e
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
            ),
            None,
        )
        back = None
        if recorded is not None and delivery.accepted:
            stamp = recorded.event_time.seconds + recorded.event_time.nanos / 1e9
            back = delivery.answered - stamp
        return found, back

    results = await asyncio.gather(*(one(d, line) for d, line in phase.reached()))
    phase.stages = [found for found, _ in results if found]
    phase.answer_lag = [back for _, back in results if back is not None]


# --- the run --------------------------------------------------------------------------------


async def wait_healthy(port: int, processes: Sequence[WorkerProcess]) -> None:
    """Until the API answers GET /healthz: `make run`'s wait for its API, in a thread (it
    blocks), ended at once when the bench is cancelled (Ctrl-C)."""
    api = next(process for process in processes if process.name == "api")
    part = Part("the API", api.process, "answering GET /healthz", lambda: api_answers(port))
    stopping = threading.Event()
    try:
        failure = await asyncio.to_thread(wait_until_ready, [part], READY_SECONDS, stopping)
    finally:
        stopping.set()
    if failure:
        for process in processes:
            process.check_alive()  # one that ended says so with its log's last lines
        raise BenchError(failure)


async def probe_api(
    deliver: Deliver, watcher: LineWatcher, processes: Sequence[WorkerProcess], what: str
) -> None:
    """One lead until its outbox line: the API reaches Temporal and the worker polls. A 503
    while the API's lazy client connects is retried."""
    give_up = time.time() + READY_SECONDS
    while True:
        delivery = await deliver(0)
        if delivery.accepted:
            break
        if time.time() > give_up or delivery.status not in (None, 503):
            raise BenchError(f"{what}: probe lead refused: {delivery.status} {delivery.error}")
        for process in processes:
            process.check_alive()
        await asyncio.sleep(PROBE_RETRY)
    if not await wait_for_lines(watcher, [delivery.lead_id], processes, give_up):
        raise BenchError(f"{what}: the probe lead got no outbox line within {READY_SECONDS:.0f} s")


@dataclass
class Results:
    phases: list[Phase]
    floors: list[Floor]
    quiet_before: float  # CPUs other processes used just before the run


async def measure(settings: Settings, quiet: float) -> Results:
    api_port = free_port()
    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
    )
    async with (
        rig("blanco-bench-intake-", "bench-intake", settings.bytecode_cache, api_port) as setup,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}", limits=limits, timeout=HTTP_TIMEOUT
        ) as http,
    ):
        client, config, dealer, tag = setup.client, setup.config, setup.dealer, setup.tag
        outbox, processes = setup.watchers.outbox, setup.processes
        await wait_healthy(api_port, processes)
        probe_lead = http_deliverer(http, dealer, f"{tag}-probe")
        meter = await setup.ready(probe_api(probe_lead, outbox, processes, "API"))
        run = Run(outbox, processes, meter, settings)
        gate = asyncio.Semaphore(settings.concurrency)
        rate = await run_phase(
            run,
            f"rate {settings.rate:g}/s",
            settings.leads,
            lambda: at_rate(
                settings.leads, settings.rate, http_deliverer(http, dealer, f"{tag}-r"), gate
            ),
        )
        burst = await run_phase(
            run,
            f"burst {settings.burst}",
            settings.burst,
            lambda: at_once(settings.burst, http_deliverer(http, dealer, f"{tag}-b"), gate),
        )
        direct = await run_phase(
            run,
            f"burst {settings.burst} direct",
            settings.burst,
            lambda: at_once(
                settings.burst, direct_deliverer(client, config, dealer, f"{tag}-d"), gate
            ),
        )
        floors = [
            await temporal_floor(
                client, settings, setup.floor_queue, tag, setup.watchers.floor, processes, meter
            ),
            await http_floor(http, settings, meter),
        ]
        if settings.breakdown:
            for phase in (rate, burst, direct):
                await fetch_stages(client, phase)
        return Results([rate, burst, direct], floors, quiet)


async def others_now(window: float = QUIET_WINDOW) -> float:
    """CPUs the machine's processes use over `window` seconds (nothing of ours runs yet)."""
    before, at = machine_busy(), time.monotonic()
    await asyncio.sleep(window)  # a sampling window, not synchronisation
    return (machine_busy() - before) / (time.monotonic() - at)


# --- figures --------------------------------------------------------------------------------


def ms3(seconds: Sequence[float]) -> str:
    s = Summary.of(seconds)
    return f"{s.p50:>7.0f}{s.p99:>7.0f}{s.max:>7.0f}"


def table(results: Results, settings: Settings) -> list[str]:
    groups = ("HTTP accept ms", "accept → outbox ms", "send → outbox ms")
    columns = f"{'p50':>7}{'p99':>7}{'max':>7}  "
    lines = [
        f"{'':<40}" + "".join(f"{title:^21}  " for title in groups),
        f"{'phase':<24}{'leads':>6}{'acc/s':>8}  {columns * 3}errors (non-202)",
    ]
    for phase in results.phases:
        lines.append(
            f"{phase.name:<24}{len(phase.deliveries):>6}{phase.accepted_per_second():>8.1f}  "
            f"{ms3(phase.accept_latencies())}  {ms3(phase.accept_to_outbox())}  "
            f"{ms3(phase.send_to_outbox())}  {phase.errors()}"
        )
    lines.append(
        f"('direct': the same burst through client.start_lead in the bench process, no HTTP; "
        f"its 'HTTP accept' is the call; at most {settings.concurrency} requests in flight)"
    )
    return lines


def details(results: Results) -> list[str]:
    out: list[str] = []
    for phase in results.phases:
        reached = len(phase.reached())
        early = sum(1 for x in phase.accept_to_outbox() if x < 0)
        out.append(
            f"{phase.name}: {reached}/{len(phase.deliveries)} outbox lines, all in "
            f"{phase.all_in():.2f} s after the first request; lines before their 202: {early}; "
            f"duplicate answers: {phase.duplicates()}; bad lead ids: {phase.wrong_ids()}"
        )
        for failure in phase.failures()[:SHOWN_ERRORS]:
            out.append(
                f"  #{failure.index} after {1000 * failure.latency:.0f} ms: "
                f"{failure.status} {failure.error}"
            )
    return out


def floors(results: Results) -> list[str]:
    out = [
        "",
        f"{'floor (same server, same run)':<40}{'calls':>6}{'per s':>9}{'p50 ms':>9}"
        f"{'p99 ms':>9}  failed",
    ]
    for floor in results.floors:
        s = Summary.of(floor.latencies)
        out.append(
            f"{floor.name:<40}{floor.count:>6}{floor.per_second:>9.1f}{s.p50:>9.1f}"
            f"{s.p99:>9.1f}  {len(floor.failed)}" + (f"  ({floor.note})" if floor.note else "")
        )
        out += [f"  {failure}" for failure in floor.failed[:SHOWN_ERRORS]]
    return out


def sent_at_check(results: Results) -> str:
    """The watcher's stamp minus the line's own `sent_at` (milliseconds, the worker's clock)."""
    lags = [
        line.seen_at - line.sent_at() for phase in results.phases for _, line in phase.reached()
    ]
    s = Summary.of(lags)
    return f"outbox stamp − line's sent_at: p50 {s.p50:.1f} ms, max {s.max:.1f} ms"


def breakdown(results: Results) -> list[str]:
    if not any(phase.stages for phase in results.phases):
        return []
    lines = ["", header("send → outbox by stage (ms, histories)", "runs")]
    for phase in results.phases:
        label = f"{phase.name[:18]:<18}"
        lines += stage_rows(label, phase.stages, len(phase.deliveries))
        lines.append(
            row(f"{label} recorded → answer", Summary.of(phase.answer_lag), len(phase.deliveries))
        )
    lines.append(
        "('to server' holds the request and the API's work before Temporal records the start; "
        "'recorded → answer' is the way back: server → API → HTTP 202, which waits for no "
        "worker, so the worker's stages overlap it)"
    )
    return lines


def report(results: Results, settings: Settings, machine: Machine) -> list[str]:
    rate = results.phases[0]
    p99 = Summary.of(rate.accept_to_outbox()).p99
    holds = p99 < TARGET_MS and not rate.missing() and not rate.failures()
    others = [results.quiet_before] + [p.others for p in results.phases]
    busy = max(others) > BUSY_CPUS
    return [
        "",
        f"Intake over HTTP: {settings.leads} leads at {settings.rate:g}/s, then a burst of "
        f"{settings.burst}; python -m api (one uvicorn process) → Temporal dev server → "
        "worker.py; one run",
        *table(results, settings),
        *details(results),
        *floors(results),
        "",
        *(f"{phase.name:<24}{phase.cpu}" for phase in results.phases),
        sent_at_check(results),
        f"target 'accept → outbox p99 under 1 s at {settings.rate:g} leads/s': "
        f"{'holds' if holds else 'MISSED'} (p99 {p99:.0f} ms)",
        *breakdown(results),
        "",
        f"machine: {'BUSY' if busy else 'quiet'}: other processes used "
        f"{results.quiet_before:.2f} CPUs before the run, "
        + ", ".join(f"{p.others:.2f}" for p in results.phases)
        + f" during the phases; {machine.describe()}",
    ]


async def bench(settings: Settings, machine: Machine) -> Measured:
    quiet = await others_now()
    results = await measure(settings, quiet)
    missing = [(phase, phase.missing()) for phase in results.phases if phase.missing()]
    return report(results, settings, machine), [
        f"{phase.name}: {len(lost)} of {len(phase.deliveries)} leads never got their outbox "
        f"line within {settings.deadline:g} s after the phase's last answer"
        for phase, lost in missing
    ]


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = bench_parser(
        "intake.py", __doc__, leads="leads at --rate (default 200)", rate="leads per second (20)"
    )
    parser.add_argument("--burst", type=int, default=100, help="leads posted at once (100)")
    parser.add_argument(
        "--concurrency", type=int, default=50, help="requests in flight at most (50)"
    )
    parser.add_argument("--floor", type=int, default=200, help="calls of each floor (200)")
    add_run_arguments(
        parser,
        deadline="seconds after a phase's last answer a line may take before it counts as missing",
        breakdown=True,
        breakdown_help="skip fetching the histories (where the time goes)",
        bytecode_cache="give the API and workers a bytecode cache in the temporary directory",
    )
    args = parser.parse_args(argv)
    if min(args.leads, args.burst, args.concurrency, args.floor) < 1 or args.rate <= 0:
        parser.error("--leads, --burst, --concurrency and --floor must be at least 1")
    if args.deadline <= 0:
        parser.error("--deadline must be positive")
    return Settings(
        args.leads,
        args.rate,
        args.burst,
        args.concurrency,
        args.floor,
        args.deadline,
        args.breakdown,
        args.bytecode_cache,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    return run_bench(lambda machine: bench(settings, machine), "API, workers and server")


if __name__ == "__main__":
    sys.exit(main())
