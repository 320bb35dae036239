"""What the benches share (bench/speed_to_lead.py, bench/intake.py): their own Temporal dev
server and worker processes (spawned and stopped by processes.py, as `make run`'s parts), a
watcher that stamps each line of a JSON-lines file when it appears, the arrivals they send,
percentiles and table rows, the machine, and a main() that stops every process it started,
also on Ctrl-C.

Imported sibling-style (`from harness import …`): the benches run as `python bench/x.py`.
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
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from bare_workflow import BareWorkflow
from diagnostics import STAGES, CpuMeter, child_pid, children, cpu_line, cpu_ms_per_lead
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from client import data_converter, start_lead
from codec import Keyring, new_key, parse_key
from config_file import load_config
from contracts import search_attributes as sa
from leads.config import Config, Dealer
from leads.models import Channel, Customer, Lead, LeadKind, Vehicle
from processes import cli, free_port, spawn, stop_together

ROOT = Path(__file__).resolve().parents[1]
# A key of this run's own: the bench's client and the processes it starts (which inherit this
# environment) encrypt payloads as a real deployment does.
BENCH_CODEC_KEY = new_key()
os.environ["BLANCO_CODEC_KEY"] = BENCH_CODEC_KEY
TEMPORAL = Path(sys.executable).parent / "temporal"
READY_SECONDS = 60.0  # a worker process must poll within this (imports, connect, probe)
WATCH_INTERVAL = 0.001  # how often the watcher looks for new lines, seconds
WAIT_INTERVAL = 0.02  # how often waiting code looks at what the watcher found, seconds
STOP_SECONDS = 5.0  # after SIGINT, then killed (a worker whose server died with Ctrl-C hangs)

T = TypeVar("T")


class BenchError(Exception):
    """The bench cannot go on; the message says why."""


# --- watching a JSON-lines file -------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    seen_at: float  # time.time() when the watcher first read the line
    record: dict[str, Any]

    def sent_at(self) -> float:
        """The outbox line's own `sent_at` (whole seconds, the worker's clock)."""
        return datetime.fromisoformat(str(self.record["sent_at"])).timestamp()


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


@dataclass
class Watchers:
    """The two files the workers write in the bench's temporary directory, watched."""

    outbox: LineWatcher  # worker.py's outbox: each lead's touch-1 line
    floor: LineWatcher  # bench/bare_worker.py's lines, by workflow id

    @classmethod
    def of(cls, tmp: Path) -> Watchers:
        return cls(
            LineWatcher(tmp / "outbox.jsonl", first_touch_of),
            LineWatcher(tmp / "floor.jsonl", floor_id_of),
        )

    def start(self) -> None:
        self.outbox.start()
        self.floor.start()

    def stop(self) -> None:
        self.outbox.stop()
        self.floor.stop()


# --- processes: the dev server, the workers, the API -----------------------------------------
# Spawned and stopped by processes.py, as `make run` does; what is the bench's own is which
# processes, their logs, and the pid whose CPU is measured.


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    label: str  # its name in the CPU line
    wrapper: str | None = None  # the process runs the worker as its child (py-spy): its label

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"{self.name} exited with code {code}; its log ends:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def measured_pid(self) -> int:
        """The worker's own pid: the process, or the child of its wrapper."""
        if self.wrapper is None:
            return self.process.pid
        found = children(self.process.pid)
        if len(found) != 1:
            raise BenchError(f"{self.wrapper} of {self.name} has {len(found)} children, not 1")
        return found[0][0]


def start_process(
    name: str,
    argv: list[str],
    env: dict[str, str],
    log: Path,
    label: str,
    wrapper: Sequence[str] = (),
) -> WorkerProcess:
    """`argv` spawned as `make run` spawns its parts, its output to `log`; `wrapper`: a command
    that runs it as its child (`py-spy record … --`), named by its first word in the CPU line."""
    with open(log, "wb") as out:
        process = spawn([*wrapper, *argv], env=env, cwd=ROOT, stdout=out)
    return WorkerProcess(name, process, log, label, Path(wrapper[0]).name if wrapper else None)


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


def start_processes(
    client: Client,
    tmp: Path,
    floor_queue: str,
    bytecode_cache: bool,
    api_port: int | None = None,
    worker_wrapper: Sequence[str] = (),
) -> list[WorkerProcess]:
    """On the bench's server, with the config `write_config` put in `tmp`: the API first when
    `api_port` is given (`python -m api`), then `worker.py` (its outbox tmp/outbox.jsonl, its
    results store tmp/results.db; run by `worker_wrapper` when given) and
    `bench/bare_worker.py` (its lines tmp/floor.jsonl, task queue `floor_queue`)."""
    common = {
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
    }
    if bytecode_cache:
        common["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    config = str(tmp / "blanco.toml")
    # The bench's leads go to a results store of its own, never to the developer's .data/.
    common["BLANCO_RESULTS_URL"] = f"sqlite:///{tmp / 'results.db'}"
    blanco = worker_env(
        bytecode_cache,
        **common,
        BLANCO_CONFIG=config,
        BLANCO_OUTBOX=str(tmp / "outbox.jsonl"),
        BLANCO_WORKER_METRICS=f"127.0.0.1:{free_port()}",
    )
    floor = worker_env(
        bytecode_cache,
        **common,
        BENCH_TASK_QUEUE=floor_queue,
        BENCH_FLOOR_FILE=str(tmp / "floor.jsonl"),
    )
    python = sys.executable
    wanted = [  # name, argv, environment, log file, label in the CPU line, wrapper
        ("worker.py", [python, "worker.py"], blanco, "worker.log", "worker.py", worker_wrapper),
        (
            "bench/bare_worker.py",
            [python, "bench/bare_worker.py"],
            floor,
            "bare_worker.log",
            "bare worker",
            (),
        ),
    ]
    if api_port is not None:
        api = worker_env(bytecode_cache, **common, BLANCO_CONFIG=config)
        argv = [python, "-m", "api", "--host", "127.0.0.1", "--port", str(api_port)]
        wanted.insert(0, ("api", argv, api, "api.log", "api", ()))
    processes: list[WorkerProcess] = []
    try:
        for name, argv, env, log, label, wrapper in wanted:
            processes.append(start_process(name, argv, env, tmp / log, label, wrapper))
    except BaseException:
        stop_workers(processes)
        raise
    return processes


def stop_workers(workers: Sequence[WorkerProcess]) -> None:
    """SIGINT to each one's process group (a wrapper's child too), then wait for all, killing
    what outlasts STOP_SECONDS."""
    stop_together([worker.process for worker in workers], STOP_SECONDS)


def cpu_meter(processes: Sequence[WorkerProcess]) -> CpuMeter:
    """The dev server, `processes` (a wrapper apart from its worker) and the bench itself,
    for the CPU lines."""
    pids = {"server": child_pid("temporal") or -1}
    wrappers = set()
    for process in processes:
        pids[process.label] = process.measured_pid()
        if process.wrapper is not None:
            pids[process.wrapper] = process.process.pid
            wrappers.add(process.wrapper)
    return CpuMeter({**pids, "bench": os.getpid()}, frozenset(wrappers))


@asynccontextmanager
async def dev_server(prefix: str) -> AsyncIterator[tuple[Path, WorkflowEnvironment]]:
    """A temporary directory and a dev server of the bench's own (in memory, a free port),
    shut down and removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(TEMPORAL),
            search_attributes=sa.ALL,
            data_converter=data_converter(Keyring(parse_key(BENCH_CODEC_KEY))),
            dev_server_log_level="error",
        )
        try:
            yield Path(tmp), env
        finally:
            await env.shutdown()


async def wait_for_lines(
    watcher: LineWatcher,
    keys: Sequence[str],
    workers: Sequence[WorkerProcess],
    deadline: float,
    stall: float | None = None,
) -> dict[str, Line]:
    """The lines of `keys` found by `deadline` (time.time()); stops early when all are in.
    With `stall`, the deadline moves on while lines keep coming: the wait also goes on until
    `stall` seconds have passed without a new one (a burst that the worker answers slower than
    it was started)."""
    found: dict[str, Line] = {}
    pending = list(dict.fromkeys(keys))
    while True:
        still = []
        for key in pending:
            line = watcher.get(key)
            if line is None:
                still.append(key)
            else:
                found[key] = line
        if stall is not None and len(still) < len(pending):
            deadline = max(deadline, time.time() + stall)
        pending = still
        if not pending or time.time() > deadline:
            return found
        for worker in workers:
            worker.check_alive()
        await asyncio.sleep(WAIT_INTERVAL)


@dataclass(frozen=True)
class Rig:
    """A bench's own server, config and processes, running: what its phases need."""

    client: Client
    config: Config
    dealer: Dealer
    tag: str  # this run's, in every lead's e-mail and every workflow id
    floor_queue: str  # bench/bare_worker.py's task queue
    watchers: Watchers
    processes: Sequence[WorkerProcess]

    def lanes(self, suffix: str = "") -> tuple[Lane, Lane]:
        """Blanco (leads through `client.start_lead`, until the watcher saw their outbox line)
        and the floor (BareWorkflows, until their line's own `at`), each arrival's customer or
        id tagged with this run's tag and `suffix`."""
        tag = f"{self.tag}{suffix}"
        blanco = Lane(
            "Blanco",
            blanco_starter(self.client, self.config, self.dealer, tag),
            self.watchers.outbox,
            lambda line: line.seen_at,
        )
        floor = Lane(
            "Floor",
            floor_starter(self.client, self.floor_queue, tag),
            self.watchers.floor,
            lambda line: float(line.record["at"]),
            "floor workflows",
            "activity line",
        )
        return blanco, floor

    async def ready(self, lead_probe: Coroutine[Any, Any, None] | None = None) -> CpuMeter:
        """`lead_probe` (by default one lead through `client.start_lead`) and one floor
        workflow at once, each until its line (every process polls); then the meter of the
        server, the processes and the bench."""
        if lead_probe is None:
            lead_probe = probe(
                self.lanes("-probe")[0].start_one, self.watchers.outbox, self.processes, "worker.py"
            )
        probes = [
            asyncio.create_task(lead_probe),
            asyncio.create_task(
                probe(
                    floor_starter(self.client, self.floor_queue, f"{self.tag}-probe"),
                    self.watchers.floor,
                    self.processes,
                    "bare_worker.py",
                )
            ),
        ]
        try:
            await asyncio.gather(*probes)
        finally:
            await cancel(probes)
        return cpu_meter(self.processes)


@asynccontextmanager
async def rig(
    prefix: str,
    queue: str,
    bytecode_cache: bool,
    api_port: int | None = None,
    worker_wrapper: Sequence[str] = (),
) -> AsyncIterator[Rig]:
    """A temporary directory (`prefix`), a dev server, blanco.toml copied there with the task
    queue `queue`-<tag>, the watchers and `start_processes`; on the way out all stopped, in
    the reverse order."""
    async with dev_server(prefix) as (tmp, env):
        tag = uuid.uuid4().hex[:8]
        floor_queue = f"bench-floor-{tag}"
        if f"{queue}-{tag}" == floor_queue:  # each worker would get the other's tasks too
            raise BenchError(f"the task queue {queue!r} is the floor's; name another")
        config = load_config(write_config(tmp, f"{queue}-{tag}"))
        watchers = Watchers.of(tmp)
        watchers.start()
        processes: list[WorkerProcess] = []
        try:
            processes = start_processes(
                env.client, tmp, floor_queue, bytecode_cache, api_port, worker_wrapper
            )
            yield Rig(env.client, config, config.dealers[0], tag, floor_queue, watchers, processes)
        finally:
            stop_workers(processes)
            watchers.stop()


# --- arrivals -------------------------------------------------------------------------------


def make_lead(index: int, tag: str) -> Lead:
    """Customer `index` of `tag`: its own e-mail and (test drives) its own mobile number, one
    of three kinds of lead. The number depends on `tag` too, so that a phase's customers never
    share a number with another phase's, which would make them one customer."""
    email = f"bench-{tag}-{index}@example.nl"
    mobile = f"06{20_000_000 + (zlib.crc32(tag.encode()) + index) % 10_000_000:08d}"
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
                phone=mobile,
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


def floor_starter(client: Client, task_queue: str, tag: str) -> StartOne:
    """Floor workflow `index` of this run (bench/bare_workflow.py); its id is its line's key."""

    async def start(index: int) -> str:
        handle = await client.start_workflow(
            BareWorkflow.run,
            f"floor-{tag}-{index}",
            id=f"floor-{tag}-{index}",
            task_queue=task_queue,
        )
        return handle.id

    return start


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


async def paced(count: int, rate: float, one: Callable[[int], Coroutine[Any, Any, T]]) -> list[T]:
    """`one(0)` … `one(count - 1)` at `rate` per second, open loop: a slow one never delays
    the next; waits for all of them."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    tasks: list[asyncio.Task[T]] = []
    try:
        for index in range(count):
            delay = begin + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing, not synchronisation
            tasks.append(asyncio.create_task(one(index)))
        return list(await asyncio.gather(*tasks))
    finally:
        await cancel(tasks)


async def cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel what is still running of `tasks` and wait for it: nothing outlives its phase."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def gated(gate: asyncio.Semaphore, one: Callable[[int], Awaitable[T]], index: int) -> T:
    async with gate:  # arrivals are stamped inside: waiting for a slot is the bench's limit
        return await one(index)


async def at_once(
    count: int, one: Callable[[int], Awaitable[T]], gate: asyncio.Semaphore, first: int = 0
) -> list[T]:
    """`one(first)` … `one(first + count - 1)` all at once, at most as many in flight as
    `gate` lets through (so that the bench's own calls are not what limits the rate)."""
    tasks = [asyncio.create_task(gated(gate, one, first + i)) for i in range(count)]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        await cancel(tasks)


def blanco_starter(client: Client, config: Config, dealer: Dealer, tag: str) -> StartOne:
    """Lead `index` of this run through `client.start_lead` (signal-with-start, the path of the
    starter and the API); its lead id is its outbox line's key."""

    async def start(index: int) -> str:
        result = await start_lead(client, config, dealer, make_lead(index, tag))
        return result.lead_id

    return start


# --- one phase: N arrivals at a fixed rate, or all at once ----------------------------------


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
    what: str = "leads"  # its arrivals, in what fell short
    where: str = "outbox line"  # its line


@dataclass(frozen=True)
class Arrivals:
    """How a phase's arrivals come: `count` of them at `rate` per second (open loop), or with
    no rate all at once, at most `concurrency` start calls in flight."""

    count: int
    rate: float | None = None
    concurrency: int = 50

    async def start(self, start_one: StartOne, timeout: float) -> list[Start]:
        def one(index: int) -> Coroutine[Any, Any, Start]:
            return timed_start(index, start_one, timeout)

        if self.rate is None:
            return await at_once(self.count, one, asyncio.Semaphore(self.concurrency))
        return await paced(self.count, self.rate, one)


@dataclass
class Phase:
    lane: Lane
    starts: list[Start]
    lines: dict[str, Line]
    offered_rate: float  # start calls per second, first to last
    cpu: str = ""
    stages: list[list[float]] = field(default_factory=list)
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU ms per lead by process
    waited: str = ""  # how long a line could take before it counted as missing

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

    def answered_per_second(self) -> float:
        """Lines per second from the first arrival until the last line."""
        received = self.received()
        if not received:
            return math.nan
        span = max(self.lane.message_at(line) for _, line in received) - min(
            s.arrival for s in self.starts
        )
        return len(received) / span if span > 0 else math.nan


async def timed_start(index: int, start_one: StartOne, timeout: float) -> Start:
    arrival = time.time()
    began = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            key = await start_one(index)
    except Exception as error:  # a failed start is a lead without a message: counted
        return Start(index, arrival, time.perf_counter() - began, None, f"{error!r}")
    return Start(index, arrival, time.perf_counter() - began, key)


async def run_phase(
    lane: Lane,
    arrivals: Arrivals,
    deadline: float,
    workers: Sequence[WorkerProcess],
    meter: CpuMeter,
) -> Phase:
    """The arrivals of `lane`, their lines, and the CPU they cost (measured from a quiet start
    until the machine is quiet again, so that work after the message counts too). A line
    counts as missing when it is not in `deadline` seconds after the last start; all at once,
    when `deadline` seconds have passed after the last start and the last line."""
    await meter.settle()
    before = meter.sample()
    starts = await arrivals.start(lane.start_one, deadline)
    keys = [s.key for s in starts if s.key is not None]
    first, last = min(s.arrival for s in starts), max(s.arrival for s in starts)
    stall = deadline if arrivals.rate is None else None
    lines = await wait_for_lines(lane.watcher, keys, workers, last + deadline, stall)
    await meter.settle()
    after = meter.sample()
    rate = (len(starts) - 1) / (last - first) if last > first else math.nan
    phase = Phase(lane, starts, lines, rate)
    phase.waited = f"{deadline:g} s after the last start" + (" and line" if stall else "")
    phase.cpu_ms = cpu_ms_per_lead(before, after, arrivals.count)
    load = arrivals.rate or round(phase.answered_per_second(), 1)
    phase.cpu = cpu_line(before, after, arrivals.count, load if load > 0 else 1.0)
    return phase


def shortfalls(phases: Sequence[tuple[str, Phase]], shown: int = 5) -> list[str]:
    """What fell short (exit code 1), per (label, phase): the arrivals that never got their
    line, and the first `shown` start calls that failed."""
    problems = []
    for label, phase in phases:
        if missing := phase.missing():
            failures = phase.failures()
            problems.append(
                f"{label}{missing} of {len(phase.starts)} {phase.lane.what} never got their "
                f"{phase.lane.where} within {phase.waited} ({len(failures)} start calls failed)"
            )
            problems += [f"  {failure}" for failure in failures[:shown]]
    return problems


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


def row(label: str, summary: Summary, total: int | None = None) -> str:
    figures = "".join(f"{v:>9.1f}" for v in (summary.p50, summary.p95, summary.p99, summary.max))
    count = f"{summary.count:>6}/{total}" if total is not None else ""
    return f"{label:<40}{figures}{count}"


def header(title: str, last: str = "") -> str:
    return f"{title:<40}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{last:>8}"


def stage_rows(label: str, found: Sequence[Sequence[float]], total: int) -> list[str]:
    """A row per stage of bench/diagnostics.py (seconds per run in `found`), of `total` runs."""
    return [
        row(f"{label} {stage}", Summary.of([stages[number] for stages in found]), total)
        for number, stage in enumerate(STAGES)
    ]


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
        cli_version = cli(TEMPORAL, "--version").stdout.decode(errors="replace").strip()
        return cls(
            nproc=len(os.sched_getaffinity(0)),
            cpu=cpu,
            python=platform.python_version(),
            temporalio=version("temporalio"),
            temporal_cli=cli_version.removeprefix("temporal version ") or "unknown",
            load=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        )

    def describe(self) -> str:
        return (
            f"nproc {self.nproc} ({self.cpu}), Python {self.python}, "
            f"temporalio {self.temporalio}, temporal {self.temporal_cli}, "
            f"load average at start {self.load}"
        )


# --- main -----------------------------------------------------------------------------------


def bench_parser(prog: str, doc: str | None, leads: str, rate: str) -> argparse.ArgumentParser:
    """A bench's command line, described by its docstring's first line, beginning with
    --leads (200) and --rate (20 per second); `leads` and `rate` are their help."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=200, help=leads)
    parser.add_argument("--rate", type=float, default=20.0, help=rate)
    return parser


def add_run_arguments(
    parser: argparse.ArgumentParser,
    deadline: str,
    breakdown: bool,
    breakdown_help: str,
    bytecode_cache: str,
) -> None:
    """A bench's last options: --deadline (30 s), the breakdown's switch (`breakdown` is its
    default: --no-breakdown turns it off, else --breakdown on) and --bytecode-cache."""
    parser.add_argument("--deadline", type=float, default=30.0, help=deadline)
    parser.add_argument(
        "--no-breakdown" if breakdown else "--breakdown",
        dest="breakdown",
        action="store_false" if breakdown else "store_true",
        help=breakdown_help,
    )
    parser.add_argument("--bytecode-cache", action="store_true", help=bytecode_cache)


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


Measured = tuple[list[str], list[str]]  # the report's lines; what fell short (exit code 1)
Bench = Callable[[Machine], Awaitable[Measured]]


def run_bench(bench: Bench, stopped: str) -> int:
    """Run `bench`, print its report, the runtime and (on stderr) what fell short. Exit code:
    0, 1 when something fell short, 2 when the bench cannot run (BenchError), 128 + the signal
    when interrupted, saying "interrupted: `stopped` stopped"."""
    interruption = Interruption()

    async def run() -> int:
        interruption.watch()
        began = time.perf_counter()
        report, shortfalls = await bench(Machine.here())
        for text in report:
            print(text)
        print(f"runtime {time.perf_counter() - began:.1f} s (server start to shutdown)")
        for problem in shortfalls:
            print(problem, file=sys.stderr)
        return 1 if shortfalls else 0

    try:
        return asyncio.run(run())
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
    print(f"interrupted: {stopped} stopped", file=sys.stderr)
    return 128 + (interruption.signum or signal.SIGINT)
