"""`make run`: the whole engine on the embedded Temporal dev server.

Starts `temporal server start-dev` (persistent SQLite under .data/, Web UI on :8233, search
attributes registered), waits until it answers, then the worker and the API (:8000, docs at
/docs). Ctrl-C stops all of it; if one part dies, the others are stopped too.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from codec import DEV_KEY_FILE, new_key
from workflows import search_attributes as sa

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DATA = ROOT / ".data"
ADDRESS = "127.0.0.1:7233"
UI_PORT = 8233
API_PORT = 8000
STARTUP_SECONDS = 60.0


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
    data it protects."""
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


def stop(processes: list[subprocess.Popen[bytes]], timeout: float = 15) -> None:
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


def main() -> int:
    DATA.mkdir(exist_ok=True)
    env = {**os.environ, "TEMPORAL_ADDRESS": os.environ.get("TEMPORAL_ADDRESS", ADDRESS)}
    env.setdefault("BLANCO_OUTBOX", str(DATA / "outbox.jsonl"))
    env.setdefault("BLANCO_WORKER_METRICS", "127.0.0.1:9464")
    env.setdefault("BLANCO_CODEC_KEY", dev_secret(ROOT / DEV_KEY_FILE, new_key))
    env.setdefault(
        "BLANCO_OPERATOR_TOKEN", dev_secret(DATA / "dev-operator.token", secrets.token_urlsafe)
    )
    codec_endpoint = f"http://localhost:{API_PORT}/v1/codec/op/{env['BLANCO_OPERATOR_TOKEN']}"
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
                    BIN / "temporal", DATA / "temporal.db", codec_endpoint=codec_endpoint
                )
            )
        )
        wait_for_server(BIN / "temporal", env["TEMPORAL_ADDRESS"])
        processes.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env))
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(API_PORT)],
                cwd=ROOT,
                env=env,
            )
        )
        print(
            f"\nBlanco is running.\n  Temporal UI  http://localhost:{UI_PORT}\n"
            f"  API          http://localhost:{API_PORT}  (docs: /docs)\n"
            f"  outbox       {env['BLANCO_OUTBOX']}\n"
            "  start a lead python starter.py lead examples/offer-placeholder-phone.json\n"
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
