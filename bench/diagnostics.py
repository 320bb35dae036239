"""Where the benches' time goes: CPU and memory per process (Linux /proc), a py-spy profile's
heaviest functions and, from each workflow's history, the stages between a lead's arrival and
its message.

Stages, which add up to arrival → message exactly:
- to server: arrival until the server records the workflow as started
- to worker: until a worker picks up the first workflow task
- workflow task(s): until the task that schedules the activity completes (for Blanco this
  includes the local activity that loads the dealer plan, and the start's `new_inquiry`
  signal)
- to activity: until a worker picks up the activity
- activity: until the message's line exists
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STAGES = ("to server", "to worker", "workflow task(s)", "to activity", "activity")
FETCH_CONCURRENCY = 16


# --- CPU ------------------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used by process `pid`; NaN if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return math.nan


def machine_busy() -> float:
    """CPU seconds all processes of this machine have used: user, nice, system, irq and
    softirq time (not idle, not waiting on I/O, not stolen by the hypervisor)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    except (OSError, ValueError, IndexError):
        return math.nan
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def process_rss_mb(pid: int) -> float:
    """Resident memory of process `pid` (VmRSS in /proc/<pid>/status), MB; NaN if unknown."""
    try:
        for entry in Path(f"/proc/{pid}/status").read_text().splitlines():
            if entry.startswith("VmRSS:"):
                return int(entry.split()[1]) / 1024  # kB
    except (OSError, IndexError, ValueError):
        pass
    return math.nan


def children(parent: int) -> list[tuple[int, str]]:
    """The pid and command name of each child of process `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append((int(entry.name), name))
    return found


def child_pid(command: str) -> int | None:
    """The pid of this process's child whose command name is `command` (e.g. the dev server
    the SDK started), or None."""
    return next((pid for pid, name in children(os.getpid()) if name == command), None)


@dataclass(frozen=True)
class CpuSample:
    at: float  # time.monotonic()
    processes: dict[str, float]
    machine: float


@dataclass
class CpuMeter:
    pids: dict[str, int]  # label → pid
    # Processes that are never quiet (a profiler sampling the worker), left out of `settle`.
    restless: frozenset[str] = frozenset()

    def sample(self) -> CpuSample:
        return CpuSample(
            time.monotonic(),
            {label: process_cpu(pid) for label, pid in self.pids.items()},
            machine_busy(),
        )

    async def settle(
        self, idle_share: float = 0.15, window: float = 0.25, limit: float = 30.0
    ) -> bool:
        """Wait until our processes together use less than `idle_share` of one CPU over a
        `window`, at most `limit` seconds; says whether they did."""
        give_up = time.monotonic() + limit
        before = self.sample()
        while time.monotonic() < give_up:
            await asyncio.sleep(window)
            after = self.sample()
            used = sum(
                after.processes[label] - before.processes[label]
                for label in after.processes
                if label not in self.restless
            )
            if used < idle_share * (after.at - before.at):
                return True
            before = after
        return False


def cpu_ms_per_lead(before: CpuSample, after: CpuSample, leads: int) -> dict[str, float]:
    """CPU milliseconds per lead by process label, between two samples."""
    return {
        label: 1000 * (after.processes[label] - before.processes[label]) / leads
        for label in after.processes
    }


def cpu_line(before: CpuSample, after: CpuSample, leads: int, rate: float) -> str:
    """CPU milliseconds per lead by process, what that demands at `rate`, and how busy the
    other processes of the machine were meanwhile."""
    per_lead = cpu_ms_per_lead(before, after, leads)
    total = sum(per_lead.values())
    others = max(after.machine - before.machine - total * leads / 1000, 0.0)
    parts = ", ".join(f"{label} {ms:.1f}" for label, ms in per_lead.items())
    return (
        f"CPU ms per lead: {parts} (total {total:.1f}: {total * rate / 1000:.2f} CPUs "
        f"at {rate:g}/s); other processes used {others / (after.at - before.at):.2f} CPUs"
    )


# --- a profile ------------------------------------------------------------------------------


LINE_NUMBER = re.compile(r":\d+\)$")
# Innermost frames of a thread that only waits: py-spy counts a thread-pool thread blocked in
# `work_queue.get()` (a C call, so `_worker` is the innermost frame) as active.
IDLE = frozenset({"_worker (concurrent/futures/thread.py)"})


@dataclass(frozen=True)
class Profile:
    samples: int  # all of the raw profile's
    idle: int  # of which a thread only waited (IDLE), left out of the shares
    top: list[tuple[str, float, float]]  # function, inclusive share, self share


def inclusive_shares(raw: Iterable[str], top: int) -> Profile:
    """The `top` functions of a py-spy raw profile (`frame;frame;… count` per line, outermost
    frame first, a frame `function (file:line)`) by inclusive share: the part of the busy
    samples in which the function is anywhere on the stack, counted once per sample however
    deep it recurs; with each its self share (the samples in which it is the innermost
    frame). A function is its name and file, whatever the line."""
    inclusive: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    total = idle = 0
    for entry in raw:
        stack, _, count = entry.strip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        functions = [LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        if functions[-1] in IDLE:
            idle += samples
            continue
        for function in set(functions):
            inclusive[function] += samples
        innermost[functions[-1]] += samples
    busy = total - idle
    shares = [
        (function, n / busy, innermost[function] / busy)
        for function, n in inclusive.most_common(top)
    ]
    return Profile(total, idle, shares)


# --- stages from workflow histories ---------------------------------------------------------


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def _first(events: Iterable[HistoryEvent], kind: EventType.ValueType) -> HistoryEvent | None:
    return next((e for e in events if e.event_type == kind), None)


def stages_of(events: Sequence[HistoryEvent], arrival: float, message_at: float) -> list[float]:
    """The five stages (seconds) of one workflow's history, or [] if it has no activity."""
    started = _first(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    picked = _first(events, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    scheduled = _first(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    if started is None or picked is None or scheduled is None:
        return []
    completions = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        and e.event_id < scheduled.event_id
    ]
    activity = next(
        (
            e
            for e in events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
            and e.activity_task_started_event_attributes.scheduled_event_id == scheduled.event_id
        ),
        None,
    )
    if not completions or activity is None:
        return []
    points = [
        arrival,
        _seconds(started),
        _seconds(picked),
        _seconds(completions[-1]),
        _seconds(activity),
        message_at,
    ]
    return [b - a for a, b in itertools.pairwise(points)]


async def stages(client: Client, runs: Sequence[tuple[str, float, float]]) -> list[list[float]]:
    """Stages of each (workflow id, arrival, message time); histories fetched concurrently."""
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(workflow_id: str, arrival: float, message_at: float) -> list[float]:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        return stages_of(history.events, arrival, message_at)

    found = await asyncio.gather(*(one(*run) for run in runs))
    return [s for s in found if s]
