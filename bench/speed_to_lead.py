"""Speed to lead on this machine: from a lead's arrival to its first message in the outbox,
next to Temporal's own floor, measured in the same run against the same server.

    .venv/bin/python bench/speed_to_lead.py [--leads 200] [--rate 20] [--deadline 30]
                                            [--breakdown] [--bytecode-cache]
    make bench

1. Starts its own Temporal dev server (the venv's `temporal`, 127.0.0.1, a free port) and two
   worker subprocesses on task queues of their own: `worker.py`, the real Blanco worker (a
   temporary copy of blanco.toml, a temporary outbox, no SendGrid or Twilio credentials), and
   `bench/bare_worker.py`, the floor. One probe per worker proves that it polls; probes are not
   counted.
2. Blanco: N leads, each a different customer (an offer with the placeholder phone 0000000000,
   a test drive on WhatsApp, a brochure request in English), started at a fixed rate through
   `client.start_lead` (update-with-start, the path of the starter and the API).
3. The floor: N `BareWorkflow`s at the same rate through plain `client.start_workflow`; each
   runs one activity that appends `{"id", "at"}` to a file and does nothing else.

Measured per lead, in milliseconds:
- arrival → message: from `time.time()` just before the start call until the message's line
  exists. The outbox's `sent_at` has whole seconds only, so the bench watches the outbox file
  (every millisecond) and stamps each line when it appears; `sent_at` is checked against that
  stamp. The floor's line carries its own `at`. The watcher's lag, measured on the floor's
  lines, is printed too: Blanco's figures include it, the floor's do not.
- start call: the start call's own latency. Blanco's includes the workflow's first task (the
  local activity that loads the dealer plan and the intake update), since update-with-start
  returns the update's result; the floor's only waits for the server to record the start.

Also measured: the CPU each process spends per lead (server, workers, the bench itself) and
how busy the machine's other processes were meanwhile: on a small machine the latencies are
set by how close that demand comes to the CPUs there are. `--breakdown` also fetches every
workflow's history and splits arrival → message into its stages (see bench/diagnostics.py);
`--bytecode-cache` gives the workers a bytecode cache where PYTHONDONTWRITEBYTECODE is set.

Prints p50 / p95 / p99 / max (nearest rank), the ratio Blanco/floor, a line for the README and
the machine. Exits 0; 1 when a lead or floor workflow got no line within --deadline seconds
after the last start (saying how many); 2 when the bench cannot run; 130 on Ctrl-C. Leaves no
process behind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from importlib.util import cache_from_source
from pathlib import Path
from typing import Any

from bare_workflow import BareWorkflow
from diagnostics import STAGES, CpuMeter, child_pid, cpu_line, stages
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from client import start_lead
from leads.config import Config, Dealer, load_config
from leads.models import Channel, Customer, Lead, LeadKind, Vehicle
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parents[1]
TEMPORAL = Path(sys.executable).parent / "temporal"
READY_SECONDS = 60.0  # a worker process must poll within this (imports, connect, probe)
WATCH_INTERVAL = 0.001  # how often the watcher looks for new lines, seconds
WAIT_INTERVAL = 0.02  # how often waiting code looks at what the watcher found, seconds
STOP_SECONDS = 5.0  # after SIGINT, then killed (a worker whose server died with Ctrl-C hangs)
SENT_AT_SLACK = 0.25  # seconds a watched stamp may trail `sent_at` + 1 s and still agree
CLAIM_MS = 1000.0  # the README's claim: p99 arrival → outbox under 1 s


@dataclass(frozen=True)
class Settings:
    """What the command line asks for."""

    leads: int
    rate: float
    deadline: float
    breakdown: bool = False
    bytecode_cache: bool = False


class BenchError(Exception):
    """The bench cannot go on; the message says why."""


# --- watching a JSON-lines file -------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    seen_at: float  # time.time() when the watcher first read the line
    record: dict[str, Any]


KeyOf = Callable[[dict[str, Any]], str | None]


class LineWatcher:
    """Stamps each complete line of a JSON-lines file with `time.time()` when it first appears,
    keyed by `key_of(record)` (None: not a line to track). Runs in a thread, so that the
    event loop that paces the arrivals never delays a stamp."""

    def __init__(self, path: Path, key_of: KeyOf) -> None:
        self.path = path
        self._key_of = key_of
        self._lines: dict[str, Line] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"watch {path.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def get(self, key: str) -> Line | None:
        with self._lock:
            return self._lines.get(key)

    def _run(self) -> None:
        handle = None
        pending = b""
        try:
            while not self._stop.is_set():
                if handle is None:
                    try:
                        handle = open(self.path, "rb")  # noqa: SIM115 - kept open while tailing
                    except FileNotFoundError:
                        self._stop.wait(WATCH_INTERVAL)
                        continue
                chunk = handle.read()
                if not chunk:
                    self._stop.wait(WATCH_INTERVAL)
                    continue
                now = time.time()
                *complete, pending = (pending + chunk).split(b"\n")
                for raw in complete:
                    self._add(raw, now)
        finally:
            if handle is not None:
                handle.close()

    def _add(self, raw: bytes, now: float) -> None:
        try:
            record = json.loads(raw)
            key = self._key_of(record)
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not a line of ours
        if key is None:
            return
        with self._lock:
            self._lines.setdefault(key, Line(now, record))


def first_touch_of(record: dict[str, Any]) -> str | None:
    return str(record["lead_id"]) if record.get("touch") == 1 else None


def floor_id_of(record: dict[str, Any]) -> str | None:
    return str(record["id"])


# --- worker processes -----------------------------------------------------------------------


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"{self.name} exited with code {code}; its log ends:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def interrupt(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait_or_kill(self, deadline: float) -> None:
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path) -> WorkerProcess:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Ctrl-C reaches only the bench, which then stops the workers in order.
            start_new_session=True,
        )
    return WorkerProcess(name, process, log)


def worker_env(bytecode_cache: bool, **settings: str) -> dict[str, str]:
    """This environment without provider credentials, plus `settings`."""
    dropped = {"BLANCO_PLATFORM_CHAT"} | ({"PYTHONDONTWRITEBYTECODE"} if bytecode_cache else set())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SENDGRID_", "TWILIO_")) and key not in dropped
    }
    env.update(settings)
    return env


def write_config(directory: Path, task_queue: str) -> Path:
    """A copy of blanco.toml that differs only in its task queue."""
    text = (ROOT / "blanco.toml").read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^task_queue\s*=.*$", f'task_queue = "{task_queue}"', text)
    if count != 1:
        raise BenchError(f"blanco.toml: expected one task_queue line, found {count}")
    path = directory / "blanco.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def wait_for_lines(
    watcher: LineWatcher,
    keys: Sequence[str],
    workers: Sequence[WorkerProcess],
    deadline: float,
) -> dict[str, Line]:
    """The lines of `keys` found by `deadline` (time.time()); stops early when all are in."""
    while True:
        found = {key: line for key in keys if (line := watcher.get(key)) is not None}
        if len(found) == len(keys) or time.time() > deadline:
            return found
        for worker in workers:
            worker.check_alive()
        await asyncio.sleep(WAIT_INTERVAL)


# --- the two kinds of arrival ---------------------------------------------------------------


def make_lead(index: int, tag: str) -> Lead:
    """Customer `index` of this run: its own e-mail, one of three kinds of lead."""
    email = f"bench-{tag}-{index}@example.nl"
    if index % 3 == 0:
        return Lead(
            source="marktplaats",
            external_id=f"mp-{tag}-{index}",
            kind=LeadKind.OFFER,
            customer=Customer(name=f"Klant {index}", email=email, phone="0000000000"),
            vehicle=Vehicle(make="Volkswagen", model="Golf"),
            message="Wat is uw laagste prijs?",
            offer_amount=9000 + index,
        )
    if index % 3 == 1:
        return Lead(
            source="website",
            external_id=f"web-{tag}-{index}",
            kind=LeadKind.TEST_DRIVE,
            customer=Customer(
                name=f"Klant {index}",
                email=email,
                phone=f"06{28_000_000 + index:08d}",
                preferred_channel=Channel.WHATSAPP,
            ),
            vehicle=Vehicle(make="Kia", model="EV6"),
        )
    return Lead(
        source="autoscout24",
        external_id=f"as-{tag}-{index}",
        kind=LeadKind.BROCHURE_REQUEST,
        customer=Customer(name=f"Customer {index}", email=email, locale="en"),
        vehicle=Vehicle(make="Volvo", model="XC40"),
    )


StartOne = Callable[[int], Awaitable[str]]


def blanco_starter(client: Client, config: Config, dealer: Dealer, tag: str) -> StartOne:
    async def start(index: int) -> str:
        result = await start_lead(client, config, dealer, make_lead(index, tag))
        return result.lead_id

    return start


def floor_starter(client: Client, task_queue: str, tag: str) -> StartOne:
    async def start(index: int) -> str:
        handle = await client.start_workflow(
            BareWorkflow.run,
            f"floor-{tag}-{index}",
            id=f"floor-{tag}-{index}",
            task_queue=task_queue,
        )
        return handle.id

    return start


# --- one phase: N arrivals at a fixed rate --------------------------------------------------


@dataclass(frozen=True)
class Start:
    index: int
    arrival: float  # time.time() just before the start call
    latency: float  # seconds the start call took
    key: str | None  # what its line is found by; None: the call failed
    error: str | None = None


@dataclass(frozen=True)
class Lane:
    """One of the two things measured: how an arrival starts and where its line shows up."""

    name: str
    start_one: StartOne
    watcher: LineWatcher
    message_at: Callable[[Line], float]


@dataclass
class Phase:
    lane: Lane
    starts: list[Start]
    lines: dict[str, Line]
    offered_rate: float
    cpu: str = ""
    stages: list[list[float]] = field(default_factory=list)

    def to_message(self) -> list[float]:
        return [self.lane.message_at(line) - s.arrival for s, line in self.received()]

    def received(self) -> list[tuple[Start, Line]]:
        return [(s, self.lines[s.key]) for s in self.starts if s.key in self.lines]

    def latencies(self) -> list[float]:
        return [s.latency for s in self.starts if s.key is not None]

    def missing(self) -> int:
        return sum(1 for s in self.starts if s.key is None or s.key not in self.lines)

    def failures(self) -> list[str]:
        return [f"#{s.index}: {s.error}" for s in self.starts if s.error]


async def timed_start(index: int, start_one: StartOne, timeout: float) -> Start:
    arrival = time.time()
    began = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            key = await start_one(index)
    except Exception as error:  # a failed start is a lead without a message: counted
        return Start(index, arrival, time.perf_counter() - began, None, f"{error!r}")
    return Start(index, arrival, time.perf_counter() - began, key)


async def arrive(count: int, rate: float, start_one: StartOne, timeout: float) -> list[Start]:
    """Start `count` arrivals at `rate` per second (open loop: a slow call never delays the
    next arrival), and wait for every call to return."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    tasks: list[asyncio.Task[Start]] = []
    try:
        for index in range(count):
            delay = begin + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing, not synchronisation
            tasks.append(asyncio.create_task(timed_start(index, start_one, timeout)))
        return list(await asyncio.gather(*tasks))
    finally:
        await cancel(tasks)


async def cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel what is still running of `tasks` and wait for it: nothing outlives its phase."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_phase(
    lane: Lane, settings: Settings, workers: Sequence[WorkerProcess], meter: CpuMeter
) -> Phase:
    """N arrivals of `lane`, their lines, and the CPU they cost (measured from a quiet start
    until the machine is quiet again, so that work after the message counts too)."""
    await meter.settle()
    before = meter.sample()
    starts = await arrive(settings.leads, settings.rate, lane.start_one, settings.deadline)
    keys = [s.key for s in starts if s.key is not None]
    first, last = min(s.arrival for s in starts), max(s.arrival for s in starts)
    lines = await wait_for_lines(lane.watcher, keys, workers, last + settings.deadline)
    await meter.settle()
    rate = (len(starts) - 1) / (last - first) if last > first else math.nan
    phase = Phase(lane, starts, lines, rate)
    phase.cpu = cpu_line(before, meter.sample(), settings.leads, settings.rate)
    return phase


async def probe(
    start_one: StartOne,
    watcher: LineWatcher,
    workers: Sequence[WorkerProcess],
    what: str,
) -> None:
    """Start one arrival and wait for its line: the worker is up and polling."""
    deadline = time.time() + READY_SECONDS
    async with asyncio.timeout(READY_SECONDS):
        key = await start_one(0)
    if not await wait_for_lines(watcher, [key], workers, deadline):
        raise BenchError(f"{what} wrote no line within {READY_SECONDS:.0f} s of starting")


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float  # milliseconds
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        values = sorted(seconds)
        if not values:
            return cls(0, math.nan, math.nan, math.nan, math.nan)

        def rank(q: float) -> float:  # nearest rank
            return values[max(1, math.ceil(q * len(values))) - 1] * 1000

        return cls(len(values), rank(0.50), rank(0.95), rank(0.99), values[-1] * 1000)


def sent_at_disagreements(phase: Phase) -> int:
    """Lines whose whole-second `sent_at` does not bracket the watcher's stamp."""
    wrong = 0
    for line in phase.lines.values():
        sent = datetime.fromisoformat(str(line.record["sent_at"])).timestamp()
        if not sent <= line.seen_at < sent + 1 + SENT_AT_SLACK:
            wrong += 1
    return wrong


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu: str
    python: str
    temporalio: str
    temporal_cli: str
    load: str

    @classmethod
    def here(cls) -> Machine:
        cpu = platform.machine()
        try:
            for entry in Path("/proc/cpuinfo").read_text().splitlines():
                if entry.startswith("model name"):
                    cpu = entry.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        cli = subprocess.run(
            [str(TEMPORAL), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
        return cls(
            nproc=len(os.sched_getaffinity(0)),
            cpu=cpu,
            python=platform.python_version(),
            temporalio=version("temporalio"),
            temporal_cli=cli.removeprefix("temporal version ") or "unknown",
            load=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        )


def row(label: str, summary: Summary, total: int | None = None) -> str:
    figures = "".join(f"{v:>9.1f}" for v in (summary.p50, summary.p95, summary.p99, summary.max))
    count = f"{summary.count:>6}/{total}" if total is not None else ""
    return f"{label:<40}{figures}{count}"


def header(title: str, last: str = "") -> str:
    return f"{title:<40}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{last:>8}"


def report(blanco: Phase, floor: Phase, settings: Settings, machine: Machine) -> list[str]:
    b, f = Summary.of(blanco.to_message()), Summary.of(floor.to_message())
    lag = Summary.of([line.seen_at - float(line.record["at"]) for line in floor.lines.values()])
    n, rate = settings.leads, settings.rate
    holds = b.p99 < CLAIM_MS and blanco.missing() == 0
    agree = len(blanco.lines) - sent_at_disagreements(blanco)
    return [
        "",
        f"Speed to lead: {n} leads at {rate:g}/s (offered {blanco.offered_rate:.1f}/s Blanco, "
        f"{floor.offered_rate:.1f}/s floor), one dev server, one run",
        header("milliseconds", "lines"),
        row("Blanco  arrival → outbox line", b, n),
        row("Blanco  start call (update-with-start)", Summary.of(blanco.latencies()), n),
        row("Floor   arrival → activity line", f, n),
        row("Floor   start call (start_workflow)", Summary.of(floor.latencies()), n),
        f"Blanco / floor, arrival → message: p50 {b.p50 / f.p50:.1f}×, p99 {b.p99 / f.p99:.1f}×",
        f"Blanco {blanco.cpu}",
        f"Floor  {floor.cpu}",
        f"watcher lag (floor line seen − its `at`): p50 {lag.p50:.1f} ms, max {lag.max:.1f} ms; "
        f"outbox sent_at (whole seconds) brackets the watched stamp: {agree}/{len(blanco.lines)}",
        f"claim 'p99 arrival → outbox under 1 s': {'holds' if holds else 'DOES NOT HOLD'} "
        f"(p99 {b.p99:.0f} ms)",
        *breakdown(blanco, floor),
        "",
        "README: Speed to lead on this machine (`bench/speed_to_lead.py "
        f"--leads {n} --rate {rate:g}`, {machine.nproc} CPUs, Python {machine.python}, "
        f"temporalio {machine.temporalio}): arrival → outbox p50 {b.p50:.0f} ms, "
        f"p99 {b.p99:.0f} ms, max {b.max:.0f} ms; Temporal's floor (one workflow, one activity) "
        f"p50 {f.p50:.0f} ms, p99 {f.p99:.0f} ms.",
        "",
        f"machine: nproc {machine.nproc} ({machine.cpu}), Python {machine.python}, "
        f"temporalio {machine.temporalio}, temporal {machine.temporal_cli}, "
        f"load average at start {machine.load}; workers' bytecode cache: {bytecode(settings)}",
    ]


def bytecode(settings: Settings) -> str:
    """Whether the sandbox's per-run imports of workflows/ can use cached bytecode."""
    if settings.bytecode_cache:
        return "in the temporary directory (--bytecode-cache)"
    cached = Path(cache_from_source(str(ROOT / "workflows" / "lead_follow_up.py"))).exists()
    return "cached for workflows/" if cached else "none for workflows/ (compiled per workflow)"


def breakdown(*phases: Phase) -> list[str]:
    """Per stage of the workflow histories (--breakdown), when they were fetched."""
    if not any(phase.stages for phase in phases):
        return []
    lines = ["", header("where the time goes (ms, from histories)", "runs")]
    for phase in phases:
        for number, stage in enumerate(STAGES):
            values = [stages[number] for stages in phase.stages]
            lines.append(
                row(f"{phase.lane.name:<7} {stage}", Summary.of(values), len(phase.starts))
            )
    return lines


def shortfalls(blanco: Phase, floor: Phase, deadline: float) -> list[str]:
    problems = []
    for phase, what, where in (
        (blanco, "leads", "outbox line"),
        (floor, "floor workflows", "activity line"),
    ):
        if missing := phase.missing():
            failures = phase.failures()
            problems.append(
                f"{missing} of {len(phase.starts)} {what} never got their {where} within "
                f"{deadline:g} s after the last start ({len(failures)} start calls failed)"
            )
            problems += [f"  {failure}" for failure in failures[:5]]
    return problems


# --- the run --------------------------------------------------------------------------------


def start_workers(
    client: Client, settings: Settings, tmp: Path, outbox: Path, floor_file: Path, floor_queue: str
) -> list[WorkerProcess]:
    """`worker.py` on the copied config and `bench/bare_worker.py`, both on the bench's server."""
    common = {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
    }
    if settings.bytecode_cache:
        common["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    blanco_env = worker_env(
        settings.bytecode_cache,
        **common,
        BLANCO_CONFIG=str(tmp / "blanco.toml"),
        BLANCO_OUTBOX=str(outbox),
    )
    floor_env = worker_env(
        settings.bytecode_cache,
        **common,
        BENCH_TASK_QUEUE=floor_queue,
        BENCH_FLOOR_FILE=str(floor_file),
    )
    workers: list[WorkerProcess] = []
    try:
        workers.append(
            spawn("worker.py", [sys.executable, "worker.py"], blanco_env, tmp / "worker.log")
        )
        workers.append(
            spawn(
                "bench/bare_worker.py",
                [sys.executable, "bench/bare_worker.py"],
                floor_env,
                tmp / "bare_worker.log",
            )
        )
    except BaseException:
        stop_workers(workers)
        raise
    return workers


def stop_workers(workers: Sequence[WorkerProcess]) -> None:
    """SIGINT to all, then wait for all (each stops on its own), killing what outlasts
    STOP_SECONDS."""
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        worker.interrupt()
    for worker in workers:
        worker.wait_or_kill(deadline)


async def fetch_stages(client: Client, phase: Phase) -> None:
    runs = [(s.key, s.arrival, phase.lane.message_at(line)) for s, line in phase.received()]
    phase.stages = await stages(client, [(key, a, m) for key, a, m in runs if key is not None])


async def measure(settings: Settings, tmp: Path, env: WorkflowEnvironment) -> tuple[Phase, Phase]:
    client = env.client
    tag = uuid.uuid4().hex[:8]
    config = load_config(write_config(tmp, f"bench-blanco-{tag}"))
    dealer = config.dealers[0]
    floor_queue = f"bench-floor-{tag}"
    outbox = LineWatcher(tmp / "outbox.jsonl", first_touch_of)
    floor_file = LineWatcher(tmp / "floor.jsonl", floor_id_of)
    blanco_lane = Lane(
        "Blanco", blanco_starter(client, config, dealer, tag), outbox, lambda line: line.seen_at
    )
    floor_lane = Lane(
        "Floor",
        floor_starter(client, floor_queue, tag),
        floor_file,
        lambda line: float(line.record["at"]),
    )
    outbox.start()
    floor_file.start()
    workers: list[WorkerProcess] = []
    try:
        workers = start_workers(client, settings, tmp, outbox.path, floor_file.path, floor_queue)
        probe_tag = f"{tag}-probe"
        probes = [
            asyncio.create_task(
                probe(
                    blanco_starter(client, config, dealer, probe_tag), outbox, workers, "worker.py"
                )
            ),
            asyncio.create_task(
                probe(
                    floor_starter(client, floor_queue, probe_tag),
                    floor_file,
                    workers,
                    "bare_worker.py",
                )
            ),
        ]
        try:
            await asyncio.gather(*probes)
        finally:
            await cancel(probes)
        meter = CpuMeter(
            {
                "server": child_pid("temporal") or -1,
                "worker.py": workers[0].process.pid,
                "bare worker": workers[1].process.pid,
                "bench": os.getpid(),
            }
        )
        blanco = await run_phase(blanco_lane, settings, workers, meter)
        floor = await run_phase(floor_lane, settings, workers, meter)
        if settings.breakdown:
            await fetch_stages(client, blanco)
            await fetch_stages(client, floor)
        return blanco, floor
    finally:
        stop_workers(workers)
        outbox.stop()
        floor_file.stop()


@dataclass
class Interruption:
    """The first SIGINT or SIGTERM cancels the run, whose clean-up then stops the workers and
    the server; later ones are ignored so that the clean-up itself is never cut short."""

    signum: int | None = None

    def watch(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._interrupt, signum, task)
        loop.set_exception_handler(quiet_cancelled)

    def _interrupt(self, signum: int, task: asyncio.Task[int]) -> None:
        if self.signum is None:
            self.signum = signum
            task.cancel()


def quiet_cancelled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler, without one kind of noise: a start call that the bench
    cancelled also fails the start operation's own future, which `client.start_lead` never
    reads, and asyncio would print that CancelledError's traceback."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


async def bench(settings: Settings, interruption: Interruption) -> int:
    interruption.watch()
    began = time.perf_counter()
    machine = Machine.here()
    with tempfile.TemporaryDirectory(prefix="blanco-bench-") as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(TEMPORAL),
            search_attributes=sa.ALL,
            data_converter=pydantic_data_converter,
            dev_server_log_level="error",
        )
        try:
            blanco, floor = await measure(settings, Path(tmp), env)
        finally:
            await env.shutdown()
    for text in report(blanco, floor, settings, machine):
        print(text)
    print(f"runtime {time.perf_counter() - began:.1f} s (server start to shutdown)")
    problems = shortfalls(blanco, floor, settings.deadline)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="speed_to_lead.py", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--leads", type=int, default=200, help="leads per phase (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="arrivals per second (20)")
    parser.add_argument(
        "--deadline",
        type=float,
        default=30.0,
        help="seconds after the last start a line may take before it counts as missing (30)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also fetch every workflow's history and print where the time goes",
    )
    parser.add_argument(
        "--bytecode-cache",
        action="store_true",
        help="give the workers a bytecode cache (PYTHONPYCACHEPREFIX in the temporary "
        "directory) even where PYTHONDONTWRITEBYTECODE is set",
    )
    args = parser.parse_args(argv)
    if args.leads < 2 or args.rate <= 0 or args.deadline <= 0:
        parser.error("--leads must be at least 2, --rate and --deadline positive")
    return Settings(args.leads, args.rate, args.deadline, args.breakdown, args.bytecode_cache)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    interruption = Interruption()
    try:
        return asyncio.run(bench(settings, interruption))
    except BenchError as error:
        if interruption.signum is None:
            print(f"error: {error}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:  # before the handlers were in place
        interruption.signum = signal.SIGINT
    except BaseException:
        if interruption.signum is None:
            raise
    # However the cancellation surfaced (the SDK turns it into its own errors at times):
    print("interrupted: workers and server stopped", file=sys.stderr)
    return 128 + (interruption.signum or signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
