"""Starting, watching and stopping the engine's processes: what `make run` (devstack.py) and
the benches (bench/) share.

A process starts in a session of its own (`spawn`), so that a terminal's Ctrl-C reaches only
the supervisor, which then stops its processes in the order it chooses: SIGINT to the
process's group, as Ctrl-C would, and SIGKILL to what is left of the group after a timeout
(`end`, `stop`, `stop_together`). Readiness is asked from outside (`wait_until_ready` with
`server_answers`, `worker_polls`, `api_answers`): the supervisor holds no Temporal client.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

GROUP_POLL = 0.02  # seconds between looks at a group whose leader has ended


def spawn(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: int | IO[Any] | None = None,
) -> subprocess.Popen[bytes]:
    """`command` in a session of its own: the terminal's Ctrl-C reaches the supervisor alone,
    which then stops its processes one by one, in order. With `stdout` (a pipe, a log file)
    its stderr goes there too; without, both are the supervisor's."""
    return subprocess.Popen(
        list(command),
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not None else None,
        start_new_session=True,
    )


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- readiness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One process, named as the supervisor's lines name it ("the worker"), with what its
    start-up waits for ("polling task queue 'leads'") and the probe that tells."""

    name: str
    process: subprocess.Popen[bytes]
    awaited: str
    ready: Callable[[], bool]
    relay: Relay | None = None  # its output, passed on by the supervisor


def wait_until_ready(
    parts: Sequence[Part], deadline: float, stopping: threading.Event
) -> str | None:
    """None once every part is ready (or `stopping` is set); otherwise what went wrong, naming
    the part: it ended, or it did not come up within `deadline` seconds."""
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
        stopping.wait(0.2)  # supervising a start-up; `stopping` ends the wait at once
    return None


def cli(temporal: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The `temporal` CLI: the supervising process holds no Temporal client of its own. A call
    that hangs counts as a failed one."""
    try:
        return subprocess.run(
            [str(temporal), *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=30
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([str(temporal), *args], -1, b"", b"")


def server_answers(temporal: Path, address: str) -> bool:
    return cli(temporal, "operator", "cluster", "health", "--address", address).returncode == 0


def worker_polls(temporal: Path, address: str, task_queue: str) -> bool:
    """Someone polls the queue for workflow and for activity tasks. Meant for a dev server the
    supervisor started itself, where nobody else's pollers are."""
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
    """GET /healthz on 127.0.0.1:`port` answers 200."""
    # http.client, not urllib or httpx: an http_proxy in the environment must not answer.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


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


# --- stopping -------------------------------------------------------------------------------


def stop(processes: Sequence[subprocess.Popen[Any]], timeout: float = 15) -> None:
    """Newest first, each to its end: a worker finishes its tasks before the server it talks
    to goes away."""
    for process in reversed(processes):
        end(process, timeout)


def stop_together(processes: Sequence[subprocess.Popen[Any]], timeout: float) -> None:
    """SIGINT to all at once, then wait for all (each stops on its own), killing what is left
    `timeout` seconds after the SIGINTs."""
    deadline = time.monotonic() + timeout
    for process in processes:
        interrupt(process)
    for process in processes:
        wait_or_kill(process, deadline)


def end(process: subprocess.Popen[Any], timeout: float) -> bool:
    """SIGINT, as Ctrl-C would; killed when it does not end in time (then True)."""
    interrupt(process)
    return wait_or_kill(process, time.monotonic() + timeout)


def interrupt(process: subprocess.Popen[Any]) -> None:
    """SIGINT to the process's group (all of it: a wrapper's child too), unless it has ended."""
    if process.poll() is None:
        _signal(process, signal.SIGINT)


def wait_or_kill(process: subprocess.Popen[Any], deadline: float) -> bool:
    """Wait until the process and the rest of its group (a wrapper's child) have ended; at
    `deadline` (time.monotonic()) kill what is left of the group (then True)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=max(deadline - time.monotonic(), 0.0))
    while _group_alive(process) and time.monotonic() < deadline:
        time.sleep(GROUP_POLL)
    if not _group_alive(process):
        return False
    _signal(process, signal.SIGKILL)
    process.wait()
    return True


def _signal(process: subprocess.Popen[Any], signum: int) -> None:
    """To the group the process leads (`spawn`'s session); a process that shares its parent's
    group (one a test started) gets the signal alone, never the parent's group."""
    # While it is not reaped its pid is not handed out again, so the look at its group is safe.
    if process.poll() is None and os.getpgid(process.pid) != process.pid:
        process.send_signal(signum)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _group_alive(process: subprocess.Popen[Any]) -> bool:
    """Whether a process of its group is left (the group's id is the process's pid, which the
    kernel does not hand out again while the group exists)."""
    if process.poll() is None:
        return True
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
