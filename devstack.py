"""`make run`: the whole engine on the embedded Temporal dev server.

Starts `temporal server start-dev` (persistent SQLite under .data/, Web UI on :8233, search
attributes registered), waits until it answers, then the worker and the API (:8000, docs at
/docs), and says "Blanco is running." once the API answers GET /healthz and the worker polls
its task queue (asked through the `temporal` CLI). A part that does not come up within a
minute is named, and the others are stopped. If one part dies, the others are stopped too.

Ctrl-C reaches devstack alone (the parts run in sessions of their own), which stops the API,
then the worker, then the server (SIGINT each, killed after 15 s), one line for each, so that
nothing loses the server while it is still shutting down.

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
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from codec import DEV_KEY_FILE, new_key
from config_file import load_config
from contracts import search_attributes as sa
from leads.config import ConfigError

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


@dataclass(frozen=True)
class Part:
    """One process of the stack, named as devstack's lines name it ("the worker"), with what
    its start-up waits for ("polling task queue 'leads'") and the probe that tells."""

    name: str
    process: subprocess.Popen[bytes]
    awaited: str
    ready: Callable[[], bool]
    relay: Relay | None = None  # the server's output, passed on by devstack


def wait_until_ready(
    parts: Sequence[Part], deadline: float, stopping: threading.Event
) -> str | None:
    """None once every part is ready (or Ctrl-C came); otherwise what went wrong, naming the
    part: it ended, or it did not come up in time."""
    pending = list(parts)
    give_up = time.monotonic() + deadline
    while not stopping.is_set():
        for part in list(pending):
            code = part.process.poll()
            if code is not None:
                return f"{part.name} exited (code {code}) before {part.awaited}"
            if part.ready():
                pending.remove(part)
        if not pending:
            return None
        if time.monotonic() >= give_up:
            return f"{pending[0].name} is not {pending[0].awaited} after {deadline:g} s"
        stopping.wait(0.2)  # supervising a start-up; Ctrl-C ends the wait at once
    return None


def cli(temporal: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The `temporal` CLI: this supervising process holds no Temporal client of its own. A
    call that hangs counts as a failed one."""
    try:
        return subprocess.run(
            [str(temporal), *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=30
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([str(temporal), *args], -1, b"", b"")


def server_answers(temporal: Path, address: str) -> bool:
    return cli(temporal, "operator", "cluster", "health", "--address", address).returncode == 0


def worker_polls(temporal: Path, address: str, task_queue: str) -> bool:
    """Someone polls the queue for workflow and for activity tasks. The dev server was started
    by this devstack, so nobody else's pollers are on it."""
    described = cli(
        temporal,
        "task-queue",
        "describe",
        "--task-queue",
        task_queue,
        "--address",
        address,
        "--output",
        "json",
    )
    if described.returncode != 0:
        return False
    try:
        found = polled_types(json.loads(described.stdout))
    except ValueError:  # not the JSON document --output json promises: not polling yet
        return False
    return {"workflow", "activity"} <= found


def polled_types(described: Mapping[str, Any]) -> set[str]:
    """The task types with pollers, from `temporal task-queue describe --output json`."""
    return {str(poller.get("taskQueueType")) for poller in described.get("pollers") or []}


def api_answers(port: int) -> bool:
    # http.client, not urllib or httpx: an http_proxy in the environment must not answer.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def spawn(
    command: list[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: int | None = None,
) -> subprocess.Popen[bytes]:
    """A part in a session of its own: the terminal's Ctrl-C reaches devstack alone, which
    then stops the parts one by one, in order."""
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not None else None,
        start_new_session=True,
    )


class Relay:
    """The dev server's output, passed on to ours line by line. Once the server is being
    stopped its warnings are dropped: its own internal workers poll the frontend it has just
    closed ("Failed to poll for task.", "network dial error") at every start-dev shutdown,
    which reads as a failure and is none. Errors still pass."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stopping = threading.Event()
        self._stream = stream
        self._thread = threading.Thread(target=self._pass_on, daemon=True)
        self._thread.start()

    def _pass_on(self) -> None:
        for line in self._stream:
            if self.stopping.is_set() and b" level=WARN " in line:
                continue
            try:
                sys.stdout.buffer.write(line)
                sys.stdout.buffer.flush()
            except OSError:
                # Our output is gone (`make run | head`): keep draining the pipe, or the
                # server would block on its next line.
                continue

    def finish(self, timeout: float) -> None:
        """Wait until the server's last line is passed on (it has ended)."""
        self._thread.join(timeout)


def stop(processes: Sequence[subprocess.Popen[Any]], timeout: float = 15) -> None:
    """Newest first: the worker finishes its tasks before the server goes away. (The tests
    stop theirs the same way.)"""
    for process in reversed(processes):
        end(process, timeout)


def end(process: subprocess.Popen[Any], timeout: float) -> bool:
    """SIGINT, as Ctrl-C would; killed when it does not end in time (then True)."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return True
    return False


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
