"""Command line: start (or join) the workflow for a lead.

    .venv/bin/python starter.py lead examples/offer-placeholder-phone.json
    .venv/bin/python starter.py lead examples/adf-test-drive.xml --dealer autohuis-west
    .venv/bin/python starter.py demo-month [--leads 300] [--seed 1]   (with `make run` running)

FILE is the intake JSON document (.json) or ADF XML (.xml). Prints one JSON object per lead on
stdout, one per line: {"lead_id": "...", "duplicate": false}. An ADF document can hold several
prospects, each its own lead. A bad file or an unknown dealer prints the problem on stderr,
exits 2 and starts nothing.

`demo-month` plays a month of generated leads for the demo dealer on the running `make run`
stack (demo/command.py); it prints progress lines and a summary of how the leads ended.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from client import connect, start_lead
from codec import CodecKeyError
from config_file import load_config
from demo.dealer import DEMO_DEALER
from demo.month import DEFAULT_LEADS, MAX_LEADS
from leads.adf import AdfError, parse_adf
from leads.config import ConfigError, Dealer
from leads.models import EDGE, Lead


class InputError(Exception):
    """The lead file cannot be used; the message says why."""


def read_lead(path: Path) -> list[Lead]:
    """The leads in the file: one for JSON, one per prospect for ADF XML."""
    if path.suffix.lower() == ".xml":
        return _read_adf(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({type(error).__name__})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON: {error}") from None
    try:
        return [Lead.model_validate(data, extra=EDGE)]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(document)'}: {e['msg']}"
            for e in error.errors()
        )
        raise InputError(f"{path}: {problems}") from None


def _read_adf(path: Path) -> list[Lead]:
    try:
        # Bytes: the parser honours the document's own encoding declaration.
        document = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({type(error).__name__})") from None
    try:
        return parse_adf(document)
    except AdfError as error:
        raise InputError(f"{path}: {error}") from None


async def start_from_file(path: Path, dealer_id: str | None) -> list[dict[str, object]]:
    """Start (or join) the workflow of every lead in the file, in order. Every lead's dealer
    is checked before the first one starts, so a bad file starts nothing."""
    config = load_config()
    leads = read_lead(path)
    dealers: list[Dealer] = []
    for lead in leads:
        wanted = dealer_id or lead.dealer_id
        if not wanted:
            if len(config.dealers) != 1:
                raise InputError("no dealer_id in the file: pass --dealer")
            wanted = config.dealers[0].id
        try:
            dealers.append(config.dealer(wanted))
        except KeyError:
            raise InputError(f"unknown dealer {wanted!r}") from None
    try:
        client = await connect()
    except CodecKeyError as error:
        raise InputError(str(error)) from None
    except RuntimeError as error:  # the SDK's connection failure
        raise InputError(f"cannot reach Temporal: {error}") from None
    results = []
    for lead, dealer in zip(leads, dealers, strict=True):
        result = await start_lead(client, config, dealer, lead)
        results.append(result.model_dump())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="starter.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lead = commands.add_parser("lead", help="start or join the workflow for the lead in FILE")
    lead.add_argument("file", type=Path, help=".json: the intake document, .xml: ADF")
    lead.add_argument("--dealer", help="dealer id (default: the file's dealer_id)")
    demo = commands.add_parser(
        "demo-month",
        help="seed the running `make run` stack with a month of generated demo leads",
        description="Plays generated leads (no personal data) with replies and outcomes "
        "through the real workflows on a fast copy of the demo dealer, so the manager's "
        "funnel and perception audit have figures. Needs `make run` in another terminal.",
    )
    demo.add_argument(
        "--leads", type=int, default=DEFAULT_LEADS, help=f"how many (default {DEFAULT_LEADS})"
    )
    demo.add_argument("--seed", type=int, default=1, help="the same seed plays the same month")
    demo.add_argument("--dealer", default=DEMO_DEALER, help=f"dealer id (default {DEMO_DEALER})")
    args = parser.parse_args(argv)
    if args.command == "demo-month":
        if not 1 <= args.leads <= MAX_LEADS:
            parser.error(f"--leads must be 1 to {MAX_LEADS}")
        # Imported here: the worker and the database stack are only needed by this command.
        from demo.command import run

        return run(args.leads, args.seed, args.dealer)
    try:
        results = asyncio.run(start_from_file(args.file, args.dealer))
    except (InputError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:  # one line per lead: a one-lead file prints exactly one object
        print(json.dumps(result))
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter teardown. The Temporal client's Rust threads can outlive a
    short-lived process and abort it during finalization after the work is done
    (temporalio/sdk-python#300); the output is flushed first, so nothing is lost."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
