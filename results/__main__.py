"""The results store's commands.

    .venv/bin/python -m results upgrade                # the newest schema
    .venv/bin/python -m results backfill [--dealer D]  # every LeadFollowUp Temporal still has

Both read BLANCO_RESULTS_URL (default sqlite:///.data/results.db) and, for the backfill,
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and BLANCO_CODEC_KEY like the worker. Prints one line
per hundred conversations and a summary; exits 2 on a bad argument, 1 when Temporal or the
store cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.exc import SQLAlchemyError

from client import connect
from codec import CodecKeyError
from config_file import load_config
from leads.config import ConfigError
from results.backfill import Backfilled, backfill
from results.store import ResultsStore


def _progress(done: Backfilled) -> None:
    print(f"… {done.recorded} recorded", flush=True)


async def _backfill(store: ResultsStore, dealer_id: str | None) -> int:
    try:
        client = await connect()
    except CodecKeyError as error:
        print(error, file=sys.stderr)
        return 1
    except RuntimeError as error:  # the SDK's connection failure
        print(f"Cannot reach Temporal: {error}", file=sys.stderr)
        return 1
    done = await backfill(client, store, dealer_id, progress=_progress)
    print(done.summary())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m results", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="migrate the store to the newest schema")
    filling = commands.add_parser("backfill", help="record every lead Temporal still has")
    filling.add_argument("--dealer", help="only this dealer's leads (its id in the config)")
    args = parser.parse_args(argv)
    store = ResultsStore.from_env()
    try:
        store.upgrade()
    except SQLAlchemyError as error:
        print(f"Cannot open the results store {store.describe()}: {error}", file=sys.stderr)
        return 1
    if args.command == "upgrade":
        print(f"{store.describe()} is at the newest schema")
        return 0
    if args.dealer is not None:
        try:
            known = load_config().dealer_ids
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 2
        if args.dealer not in known:
            print(f"unknown dealer {args.dealer!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
    return asyncio.run(_backfill(store, args.dealer))


if __name__ == "__main__":
    sys.exit(main())
