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
   `client.start_lead` (signal-with-start, the path of the starter and the API).
3. The floor: N `BareWorkflow`s at the same rate through plain `client.start_workflow`; each
   runs one activity that appends `{"id", "at"}` to a file and then sleeps (14 days, as a
   lead between its touches); the bench waits for the line, not for the workflow's end.

Measured per lead, in milliseconds:
- arrival → message: from `time.time()` just before the start call until the message's line
  exists. The outbox's `sent_at` has whole seconds only, so the bench watches the outbox file
  (every millisecond) and stamps each line when it appears; `sent_at` is checked against that
  stamp. The floor's line carries its own `at`. The watcher's lag, measured on the floor's
  lines, is printed too: Blanco's figures include it, the floor's do not.
- start call: the start call's own latency. Both wait only for the server to record the start
  (Blanco's signal-with-start records the lead's `new_inquiry` signal with it); neither waits
  for a worker.

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

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import cache_from_source
from pathlib import Path

from diagnostics import stages
from harness import (
    ROOT,
    Arrivals,
    Machine,
    Measured,
    Phase,
    Summary,
    add_run_arguments,
    bench_parser,
    header,
    rig,
    row,
    run_bench,
    run_phase,
    shortfalls,
    stage_rows,
)
from temporalio.client import Client

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


# --- figures --------------------------------------------------------------------------------


def sent_at_disagreements(phase: Phase) -> int:
    """Lines whose whole-second `sent_at` does not bracket the watcher's stamp."""
    wrong = 0
    for line in phase.lines.values():
        sent = line.sent_at()
        if not sent <= line.seen_at < sent + 1 + SENT_AT_SLACK:
            wrong += 1
    return wrong


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
        row("Blanco  start call (signal-with-start)", Summary.of(blanco.latencies()), n),
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
        f"machine: {machine.describe()}; workers' bytecode cache: {bytecode(settings)}",
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
        lines += stage_rows(f"{phase.lane.name:<7}", phase.stages, len(phase.starts))
    return lines


# --- the run --------------------------------------------------------------------------------


async def fetch_stages(client: Client, phase: Phase) -> None:
    runs = [(s.key, s.arrival, phase.lane.message_at(line)) for s, line in phase.received()]
    phase.stages = await stages(client, [(key, a, m) for key, a, m in runs if key is not None])


async def measure(settings: Settings) -> tuple[Phase, Phase]:
    async with rig("blanco-bench-", "bench-blanco", settings.bytecode_cache) as setup:
        blanco_lane, floor_lane = setup.lanes()
        meter = await setup.ready()
        arrivals = Arrivals(settings.leads, settings.rate)
        blanco = await run_phase(blanco_lane, arrivals, settings.deadline, setup.processes, meter)
        floor = await run_phase(floor_lane, arrivals, settings.deadline, setup.processes, meter)
        if settings.breakdown:
            await fetch_stages(setup.client, blanco)
            await fetch_stages(setup.client, floor)
        return blanco, floor


async def bench(settings: Settings, machine: Machine) -> Measured:
    blanco, floor = await measure(settings)
    return report(blanco, floor, settings, machine), shortfalls([("", blanco), ("", floor)])


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = bench_parser(
        "speed_to_lead.py",
        __doc__,
        leads="leads per phase (default 200)",
        rate="arrivals per second (20)",
    )
    add_run_arguments(
        parser,
        deadline="seconds after the last start a line may take before it counts as missing (30)",
        breakdown=False,
        breakdown_help="also fetch every workflow's history and print where the time goes",
        bytecode_cache="give the workers a bytecode cache (PYTHONPYCACHEPREFIX in the temporary "
        "directory) even where PYTHONDONTWRITEBYTECODE is set",
    )
    args = parser.parse_args(argv)
    if args.leads < 2 or args.rate <= 0 or args.deadline <= 0:
        parser.error("--leads must be at least 2, --rate and --deadline positive")
    return Settings(args.leads, args.rate, args.deadline, args.breakdown, args.bytecode_cache)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    return run_bench(lambda machine: bench(settings, machine), "workers and server")


if __name__ == "__main__":
    sys.exit(main())
