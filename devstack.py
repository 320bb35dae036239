"""`make run`: the whole engine on the embedded Temporal dev server.

Starts `temporal server start-dev` (persistent SQLite under .data/, Web UI on :8233, search
attributes registered), waits until it answers, then the worker and the API (:8000, docs at
/docs), and says "Blanco is running." once the API answers GET /healthz and the worker polls
its task queue (asked through the `temporal` CLI). A part that does not come up within a
minute is named, and the others are stopped. If one part dies, the others are stopped too.

Ctrl-C reaches devstack alone (the parts run in sessions of their own), which stops the API,
then the worker, then the server (SIGINT each, killed after 15 s), one line for each, so that
nothing loses the server while it is still shutting down. (Starting, probing and stopping
processes is processes.py's, which the benches use too; what is here is the stack's own.)

A second `make run` on the same data folder says that Blanco is already running, and where,
and exits 0 (the running one holds an flock on .data/devstack.lock). A port another program
listens on is named in one line, and nothing starts.

The defaults are `make run`'s; these environment variables move the stack elsewhere (a test,
or a second stack beside the first):

    BLANCO_DEV_DATA           data folder: SQLite, results store, outbox, sign-in links,
                              dev key and token
                              (default .data/)
    BLANCO_DEV_TEMPORAL_PORT  the dev server's frontend on 127.0.0.1 (default 7233)
    BLANCO_DEV_UI_PORT        the Temporal Web UI (default 8233)
    BLANCO_DEV_API_PORT       the API on 127.0.0.1 (default 8000)
    BLANCO_WORKER_METRICS     the worker's Prometheus endpoint (default 127.0.0.1:9464)

The worker and the API always talk to this dev server (TEMPORAL_ADDRESS is set for them).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from codec import DEV_KEY_FILE, new_key
from config_file import load_config
from contracts import search_attributes as sa
from leads.config import ConfigError
from processes import (
    Part,
    Relay,
    api_answers,
    end,
    server_answers,
    spawn,
    wait_until_ready,
    worker_polls,
)

ROOT = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DATA = ROOT / ".data"
ADDRESS = "127.0.0.1:7233"
UI_PORT = 8233
API_PORT = 8000
WORKER_METRICS = "127.0.0.1:9464"
STARTUP_SECONDS = 60.0
LOCK_FILE = "devstack.lock"  # in the data folder, held by the devstack running on it


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


def stop_parts(parts: Sequence[Part], timeout: float = 15) -> None:
    """The API, then the worker, then the server, so that none loses the server while it is
    still shutting down; one line for each as it stops."""
    for part in reversed(parts):
        code = part.process.poll()
        if part.relay:
            part.relay.stopping.set()
        killed = end(part.process, timeout)
        if part.relay:
            part.relay.finish(timeout)
        say(stopped(part.name, code, killed, timeout))


def stopped(name: str, code_before: int | None, killed: bool, timeout: float) -> str:
    if code_before is not None:
        return f"{name} had already exited (code {code_before})"
    if killed:
        return f"stopped {name} (killed: it had not ended {timeout:g} s after SIGINT)"
    return f"stopped {name}"


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
    # Without providers the inbox's one-time sign-in links land here (docs/inbox.md).
    env.setdefault("BLANCO_SIGN_IN_LINKS", str(settings.data / "sign-in-links.jsonl"))
    # The results store beside the leads: a second stack has its own figures.
    env.setdefault("BLANCO_RESULTS_URL", f"sqlite:///{settings.data / 'results.db'}")
    env["BLANCO_WORKER_METRICS"] = settings.worker_metrics
    if not env.get("BLANCO_CODEC_KEY"):
        env["BLANCO_CODEC_KEY"] = dev_secret(settings.data / DEV_KEY_FILE.name, new_key)
    if not env.get("BLANCO_OPERATOR_TOKEN"):
        token = dev_secret(settings.data / "dev-operator.token", secrets.token_urlsafe)
        env["BLANCO_OPERATOR_TOKEN"] = token
    return env


def claim(settings: Settings) -> TextIO | None:
    """This devstack's hold on its data folder: an flock, which the kernel releases when the
    process ends however it ends, holding where this stack listens. None when another
    devstack holds it."""
    lock = (settings.data / LOCK_FILE).open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    lock.truncate(0)
    lock.write(whereabouts(settings) + "\n")
    lock.flush()
    return lock


def whereabouts(settings: Settings) -> str:
    return (
        f"Temporal UI http://localhost:{settings.ui_port}, API http://localhost:{settings.api_port}"
    )


def already_running(data: Path) -> str:
    held = (data / LOCK_FILE).read_text().strip()  # the running one's ports, maybe not ours
    return f"Blanco is already running from {shown(data)}: {held}"


def shown(folder: Path) -> str:
    """A folder as a developer in the checkout reads it: `.data/`."""
    try:
        return f"{folder.relative_to(Path.cwd())}/"
    except ValueError:
        return f"{folder}/"


def taken_port(settings: Settings) -> str | None:
    """The first port this stack needs that another program listens on, as one line."""
    metrics_host, _, metrics_port = settings.worker_metrics.rpartition(":")
    needed = [
        ("the Temporal server", "127.0.0.1", settings.temporal_port),
        ("the Temporal UI", "127.0.0.1", settings.ui_port),
        ("the API", "127.0.0.1", settings.api_port),
    ]
    if metrics_port.isdigit():
        needed.append(("the worker's metrics", metrics_host, int(metrics_port)))
    for what, host, port in needed:
        if not bindable(host, port):
            return f"port {port} ({what}) is in use by another program"
    return None


def bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        # As the servers bind: a port left in TIME_WAIT by the last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def say(line: str) -> None:
    print(line, flush=True)  # as it happens, also into a pipe (`| tee`, the tests)


def banner(settings: Settings, env: Mapping[str, str]) -> str:
    return (
        f"\nBlanco is running.\n  Temporal UI  http://localhost:{settings.ui_port}\n"
        f"  API          http://localhost:{settings.api_port}  (docs: /docs)\n"
        f"  inbox        http://localhost:{settings.api_port}/inbox  "
        f"(sign-in links: {env['BLANCO_SIGN_IN_LINKS']})\n"
        f"  outbox       {env['BLANCO_OUTBOX']}\n"
        f"  start a lead {starter_command(settings)}\n"
        "Ctrl-C stops everything.\n"
    )


def start_stack(
    parts: list[Part],
    settings: Settings,
    env: dict[str, str],
    task_queue: str,
    stopping: threading.Event,
) -> str | None:
    """The server, once it answers the worker and the API, each appended to `parts` as it
    starts (so that it is stopped whatever happens next). None when all of them answer (or
    Ctrl-C came); otherwise which part did not come up."""
    temporal = BIN / "temporal"
    token = env["BLANCO_OPERATOR_TOKEN"]
    codec_endpoint = f"http://localhost:{settings.api_port}/v1/codec/op/{token}"
    server = spawn(
        dev_server_command(
            temporal,
            settings.data / "temporal.db",
            address=settings.address,
            ui_port=settings.ui_port,
            codec_endpoint=codec_endpoint,
        ),
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None  # piped just above
    parts.append(
        Part(
            "the Temporal server",
            server,
            f"answering on {settings.address}",
            lambda: server_answers(temporal, settings.address),
            relay=Relay(server.stdout),
        )
    )
    failure = wait_until_ready(parts, STARTUP_SECONDS, stopping)
    if failure or stopping.is_set():
        return failure
    worker = spawn([sys.executable, str(ROOT / "worker.py")], env=env)
    parts.append(
        Part(
            "the worker",
            worker,
            f"polling task queue {task_queue!r}",
            lambda: worker_polls(temporal, settings.address, task_queue),
        )
    )
    api = spawn(
        [sys.executable, "-m", "api", "--host", "127.0.0.1", "--port", str(settings.api_port)],
        env=env,
        cwd=ROOT,
    )
    parts.append(
        Part(
            "the API",
            api,
            f"answering GET http://127.0.0.1:{settings.api_port}/healthz",
            lambda: api_answers(settings.api_port),
        )
    )
    return wait_until_ready(parts[1:], STARTUP_SECONDS, stopping)


def supervise(parts: Sequence[Part], stopping: threading.Event) -> str | None:
    """Until Ctrl-C (None) or until a part ends by itself (which one)."""
    while not stopping.wait(0.5):
        for part in parts:
            code = part.process.poll()
            if code is not None:
                return f"{part.name} exited (code {code})"
    return None


def main() -> int:
    settings = Settings.from_env(os.environ)
    settings.data.mkdir(parents=True, exist_ok=True)
    lock = claim(settings)
    if lock is None:
        say(already_running(settings.data))
        return 0
    taken = taken_port(settings)
    if taken:
        print(f"Cannot start Blanco: {taken}.", file=sys.stderr)
        return 1
    try:
        task_queue = load_config().temporal.task_queue  # the worker's, read the same way
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    env = child_env(settings)
    parts: list[Part] = []
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    # SIGHUP too: the parts, in sessions of their own, no longer hear the terminal close.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    ran = False
    try:
        failure = start_stack(parts, settings, env, task_queue, stopping)
        if failure:
            say(f"Blanco did not start: {failure}. Stopping the rest.")
        elif not stopping.is_set():
            say(banner(settings, env))
            ran = True
            failure = supervise(parts, stopping)
            if failure:
                say(f"{failure}. Stopping the rest.")
    finally:
        stop_parts(parts)
        lock.close()  # only now may another devstack start on this folder
    if ran:
        folder = shown(settings.data)
        say(f"The leads sleep durably in {folder} and carry on at the next `make run`.")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
