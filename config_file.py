"""The configuration file: BLANCO_CONFIG (default blanco.toml) read and validated into a
`Config` (docs/operating.md, "The configuration file").

The I/O lives here, outside `leads/`, which stays pure: `leads/config.py` has the models and
`parse_config`, which names every bad key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from leads.config import Config, ConfigError, parse_config

__all__ = ["load_config"]


def load_config(path: str | Path | None = None) -> Config:
    """Read BLANCO_CONFIG (default blanco.toml); raise ConfigError naming every bad key."""
    path = Path(path or os.environ.get("BLANCO_CONFIG", "blanco.toml"))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (set BLANCO_CONFIG)") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return parse_config(data, origin=str(path))
