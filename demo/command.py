"""`python starter.py demo-month [--leads N] [--seed S]` (`make demo-month`): seed the running
`make run` stack with a month of generated leads for the demo dealer.

It talks to the stack as its worker does: the environment devstack gives its parts
(`devstack.child_env`: the dev server's address, the dev payload key in the data folder, the
results store, the outbox). Messages always go to the outbox, whatever providers the
environment configures: a demo never texts or mails anyone.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sys
from pathlib import Path

from temporalio.runtime import Runtime, TelemetryConfig

from activities.senders import Senders, outbox_from_env
from client import connect
from codec import CodecKeyError
from config_file import load_config
from demo.dealer import DEMO_DEALER, demo_config
from demo.month import month
from demo.player import play_month
from devstack import LOCK_FILE, Settings, child_env, shown
from leads.config import ConfigError
from logs import configure_logging, core_logging
from results.store import ResultsStore

DEMO_LOCK = "demo-month.lock"  # in the data folder: one demo month at a time


class NotRunning(Exception):
    """The stack is not there to seed; the message says so in one line."""


def stack_running(data: Path) -> bool:
    """Whether a `make run` holds its data folder (devstack.claim's flock)."""
    lock = data / LOCK_FILE
    if not lock.exists():
        return False
    with lock.open("r") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(held, fcntl.LOCK_UN)
    return False


async def seed(leads: int, seed_value: int, dealer_id: str) -> bool:
    config = load_config()
    try:
        demo = demo_config(config, dealer_id)
    except KeyError:
        raise ConfigError(f"the configuration has no dealer {dealer_id!r}") from None
    dealer = demo.dealers[0]
    scripts = month(
        seed_value,
        leads,
        touches=len(dealer.cadence),
        salespeople=[person.id for person in dealer.salespeople],
        remind_after=dealer.remind_after.total_seconds(),
        escalate_after=dealer.escalate_after.total_seconds(),
    )
    try:
        # The SDK core's warnings as the worker's JSON lines, not its own coloured ones.
        client = await connect(runtime=Runtime(telemetry=TelemetryConfig(logging=core_logging())))
    except CodecKeyError as error:
        raise NotRunning(str(error)) from None
    except RuntimeError as error:  # the SDK's connection failure
        raise NotRunning(f"cannot reach Temporal ({error}): is `make run` running?") from None
    results = ResultsStore.from_env()
    await asyncio.to_thread(results.upgrade)  # a no-op on the stack's own, migrated store
    print(
        f"demo month: {leads} leads for {dealer_id} (seed {seed_value}), a touch a minute, "
        f"{len(dealer.cadence)} touches; messages to {os.environ['BLANCO_OUTBOX']}",
        flush=True,
    )
    summary = await play_month(
        client,
        demo,
        scripts,
        Senders(outbox=outbox_from_env()),  # the outbox only, on purpose
        results=results,
        say=lambda line: print(line, flush=True),
    )
    for line in summary.lines():
        print(line, flush=True)
    if summary.ok:
        print(
            "demo month: done. The manager's figures: GET /v1/reports/funnel "
            "(Authorization: Bearer marieke-demo-token) or the inbox's results page",
            flush=True,
        )
    return summary.ok


def run(leads: int, seed_value: int, dealer_id: str = DEMO_DEALER) -> int:
    settings = Settings.from_env(os.environ)
    if not stack_running(settings.data):
        print(
            f"Blanco is not running from {shown(settings.data)}: start it with `make run` "
            "first, then run the demo month in a second terminal.",
            file=sys.stderr,
        )
        return 1
    os.environ.update(child_env(settings))  # the stack's address, key, store and outbox
    configure_logging(level=logging.WARNING)  # the worker's lines would drown the progress
    with (settings.data / DEMO_LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("A demo month is already being played on this stack.", file=sys.stderr)
            return 1
        try:
            ok = asyncio.run(seed(leads, seed_value, dealer_id))
        except NotRunning as error:
            print(str(error), file=sys.stderr)
            return 1
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # what had started was terminated on the way out
            print("demo month: interrupted", file=sys.stderr)
            return 130
    return 0 if ok else 1
