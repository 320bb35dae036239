"""python -m api [--host H] [--port P]: the HTTP API alone (default 127.0.0.1:8000)."""

from __future__ import annotations

import argparse
import sys

import uvicorn
from temporalio.runtime import Runtime, TelemetryConfig

from api.app import create_app
from codec import CodecKeyError, Keyring
from config_file import load_config
from leads.config import ConfigError
from logs import configure_logging, core_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        config = load_config()
        keys = Keyring.from_env()
    except (ConfigError, CodecKeyError) as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(dealer_ids=config.dealer_ids)
    # The Temporal client's runtime: the SDK core's warnings as our JSON lines too.
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=core_logging())))
    # uvicorn's records go through configure_logging's format (log_config=None); its access
    # log is off, since paths hold tokens (unsubscribe links): api/access_log.py writes one
    # line per request with the route's template instead.
    uvicorn.run(
        create_app(config, keys=keys),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
