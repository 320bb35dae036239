"""python -m api [--host H] [--port P]: the HTTP API alone (default 127.0.0.1:8000)."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from api.app import create_app
from codec import CodecKeyError, Keyring
from leads.config import ConfigError, load_config
from logs import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        config = load_config()
        keys = Keyring.from_env()
    except (ConfigError, CodecKeyError) as error:
        print(error, file=sys.stderr)
        return 2
    # uvicorn's access log prints paths, which hold tokens (unsubscribe links): off.
    uvicorn.run(create_app(config, keys=keys), host=args.host, port=args.port, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
