"""`make run`: the whole engine on the embedded Temporal dev server.

Starts `temporal server start-dev` (persistent SQLite under .data/, Web UI on :8233, search
attributes registered), waits until it answers, then the worker and the API (:8000, docs at
/docs). Ctrl-C stops all of it; if one part dies, the others are stopped too.

The defaults are `make run`'s; these environment variables move the stack elsewhere (a test,
or a second stack beside the first):

    BLANCO_DEV_DATA           data folder: SQLite, outbox, dev key and token (default .data/)
    BLANCO_DEV_TEMPORAL_PORT  the dev server's frontend on 127.0.0.1 (default 7233)
    BLANCO_DEV_UI_PORT        the Temporal Web UI (default 8233)
    BLANCO_DEV_API_PORT       the API on 127.0.0.1 (default 8000)
    BLANCO_WORKER_METRICS     the worker's Prometheus endpoint (default 127.0.0.1:9464)

The worker and the API always talk to this dev server (TEMPORAL_ADDRESS is set for them).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codec import DEV_KEY_FILE, new_key
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DATA = ROOT / ".data"
ADDRESS = "127.0.0.1:7233"
UI_PORT = 8233
API_PORT = 8000
WORKER_METRICS = "127.0.0.1:9464"
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Settings:
    """Where this stack keeps its data and listens: `make run`'s defaults unless overridden."""

    data: Path = DATA
    temporal_port: int = int(ADDRESS.rsplit(":", 1)[1])
    ui_port: int = UI_PORT
    api_port: int = API_PORT
    worker_metrics: str = WORKER_METRICS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        default = cls()
        return cls(
            data=Path(env.get("BLANCO_DEV_DATA") or default.data).resolve(),
            temporal_port=port_from(env, "BLANCO_DEV_TEMPORAL_PORT", default.temporal_port),
            ui_port=port_from(env, "BLANCO_DEV_UI_PORT", default.ui_port),
            api_port=port_from(env, "BLANCO_DEV_API_PORT", default.api_port),
            worker_metrics=env.get("BLANCO_WORKER_METRICS") or default.worker_metrics,
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"


def port_from(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SystemExit(f"{name} must be a port number, not {text!r}")
    return int(text)


# Temporal deletes a closed history once its close has been acknowledged by the task queues,
# which by default happens every 30-60 s; a second makes erasure (DELETE /v1/leads/{lead})
# visible at once on the dev server. Production servers keep their defaults.
PROMPT_DELETION = [
    arg
    for key in (
        "history.transferProcessorUpdateAckInterval",
        "history.visibilityProcessorUpdateAckInterval",
    )
    for arg in ("--dynamic-config-value", f'{key}="1s"')
]


def dev_server_command(
    temporal: Path,
    db: Path,
    address: str = ADDRESS,
    ui_port: int = UI_PORT,
    codec_endpoint: str | None = None,
) -> list[str]:
    host, port = address.rsplit(":", 1)
    command = [
        str(temporal),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        port,
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(db),
        "--log-level",
        "warn",
        *PROMPT_DELETION,
    ]
    if codec_endpoint:  # the UI decodes payloads through the API (operator token in the path)
        command += ["--ui-codec-endpoint", codec_endpoint]
    for key in sa.ALL:  # the CLI's names: Keyword, Int, Datetime, KeywordList
        command += [
            "--search-attribute",
            f"{key.name}={key.indexed_value_type.name.title().replace('_', '')}",
        ]
    return command


def dev_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret of the local demo (payload key, operator token): made once, kept with the
    data it protects. Only called when the environment does not give it."""
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(make() + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def wait_for_server(temporal: Path, address: str, deadline: float = STARTUP_SECONDS) -> None:
    """Poll `temporal operator cluster health` (the CLI, so this supervising process never
    holds a Temporal client of its own) until the server answers."""
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        health = subprocess.run(
            [str(temporal), "operator", "cluster", "health", "--address", address],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        if health.returncode == 0:
            return
        time.sleep(0.2)  # supervising a process start-up, not a test
    raise RuntimeError(f"the Temporal dev server did not answer on {address}")


def stop(processes: Sequence[subprocess.Popen[Any]], timeout: float = 15) -> None:
    """Newest first: the worker finishes its tasks before the server goes away. SIGINT, as
    Ctrl-C would; killed when it does not end in time. (The tests stop theirs the same way.)"""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def starter_command(settings: Settings) -> str:
    """The banner's example, as it works from the checkout in a second terminal: the venv's
    python, and the address and key that starter.py would not find by itself."""
    python = os.path.relpath(sys.executable, ROOT)
    prefix = ""
    if settings.address != ADDRESS:  # starter.py's default is localhost:7233
        prefix += f"TEMPORAL_ADDRESS={settings.address} "
    dev_key = settings.data / DEV_KEY_FILE.name
    if "BLANCO_CODEC_KEY" not in os.environ and dev_key != ROOT / DEV_KEY_FILE:
        prefix += f"BLANCO_CODEC_KEY=$(cat {dev_key}) "  # it looks in .data/ only
    return f"{prefix}{python} starter.py lead examples/offer-placeholder-phone.json"


def child_env(settings: Settings) -> dict[str, str]:
    """The worker's and the API's environment: this dev server, this data folder."""
    env = {**os.environ, "TEMPORAL_ADDRESS": settings.address}
    env.setdefault("BLANCO_OUTBOX", str(settings.data / "outbox.jsonl"))
    env["BLANCO_WORKER_METRICS"] = settings.worker_metrics
    if not env.get("BLANCO_CODEC_KEY"):
        env["BLANCO_CODEC_KEY"] = dev_secret(settings.data / DEV_KEY_FILE.name, new_key)
    if not env.get("BLANCO_OPERATOR_TOKEN"):
        token = dev_secret(settings.data / "dev-operator.token", secrets.token_urlsafe)
        env["BLANCO_OPERATOR_TOKEN"] = token
    return env


def main() -> int:
    settings = Settings.from_env(os.environ)
    settings.data.mkdir(parents=True, exist_ok=True)
    env = child_env(settings)
    api_port = settings.api_port
    codec_endpoint = f"http://localhost:{api_port}/v1/codec/op/{env['BLANCO_OPERATOR_TOKEN']}"
    processes: list[subprocess.Popen[bytes]] = []
    interrupted = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        processes.append(
            subprocess.Popen(
                dev_server_command(
                    BIN / "temporal",
                    settings.data / "temporal.db",
                    address=settings.address,
                    ui_port=settings.ui_port,
                    codec_endpoint=codec_endpoint,
                )
            )
        )
        wait_for_server(BIN / "temporal", settings.address)
        processes.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env))
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(api_port)],
                cwd=ROOT,
                env=env,
            )
        )
        print(
            f"\nBlanco is running.\n  Temporal UI  http://localhost:{settings.ui_port}\n"
            f"  API          http://localhost:{api_port}  (docs: /docs)\n"
            f"  outbox       {env['BLANCO_OUTBOX']}\n"
            f"  start a lead {starter_command(settings)}\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while not interrupted and all(p.poll() is None for p in processes):
            time.sleep(0.5)  # supervising: notice a dead child or Ctrl-C
    finally:
        stop(processes)
    failed = [p.returncode for p in processes if p.returncode not in (0, None, -2, 130)]
    return 0 if interrupted or not failed else failed[0]


if __name__ == "__main__":
    sys.exit(main())
