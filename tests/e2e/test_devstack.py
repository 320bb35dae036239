"""`make run` as a developer meets it: devstack.py as a process, on free 127.0.0.1 ports and
its own data folder (BLANCO_DEV_*), its output read line by line as it comes.

The banner appears only once the API answers and the worker polls; a second devstack on the
same data folder says the first is running and starts nothing; a port another program holds
is named in one line; Ctrl-C (SIGINT to devstack's process group, as a terminal sends it)
stops the API, the worker and the server in that order, without the dev server's shutdown
warnings ("network dial error", "Failed to poll for task.") or the SDK's retry warnings
("tcp connect error") that read as a failure.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

import processes
from processes import stop
from tests.conftest import DEV_SERVER

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STARTER = ".venv/bin/python starter.py lead examples/offer-placeholder-phone.json"
STOPPED = ["stopped the API", "stopped the worker", "stopped the Temporal server"]
# What a stack stopped in the wrong order prints: the dev server's internal workers polling
# the frontend it closed, and the SDK retrying a server that went away under the worker.
NOISE = ("dial error", "Failed to poll", "tcp connect error")
START_DEADLINE = 60.0
STOP_DEADLINE = 45.0


@dataclass(frozen=True)
class Ports:
    temporal: int
    ui: int
    api: int
    metrics: int


def free_ports() -> Ports:
    """Four distinct free ports on 127.0.0.1 (held together while chosen, so they differ)."""
    with ExitStack() as held:
        ports = []
        for _ in range(4):
            probe = held.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    return Ports(*ports)


def devstack_env(data: Path, ports: Ports) -> dict[str, str]:
    env = {
        **os.environ,
        "BLANCO_DEV_DATA": str(data),
        "BLANCO_DEV_TEMPORAL_PORT": str(ports.temporal),
        "BLANCO_DEV_UI_PORT": str(ports.ui),
        "BLANCO_DEV_API_PORT": str(ports.api),
        "BLANCO_WORKER_METRICS": f"127.0.0.1:{ports.metrics}",
    }
    # Its own outbox and token in its data folder, its own server, no provider sending.
    for key in (
        "BLANCO_OUTBOX",
        "BLANCO_OPERATOR_TOKEN",
        "TEMPORAL_ADDRESS",
        "SENDGRID_API_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    ):
        env.pop(key, None)
    return env


@dataclass
class Output:
    """A process's output, read by a thread as it comes, so that waits can have deadlines."""

    stream: IO[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def until(self, found: Callable[[str], bool], deadline: float) -> list[str]:
        """Lines up to and including the first that `found` accepts (None: the end)."""
        give_up = time.monotonic() + deadline
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, give_up - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"not seen within {deadline}s; output so far:\n" + "\n".join(self.lines)
                ) from None
            if line is None:
                return self.lines
            self.lines.append(line)
            if found(line):
                return self.lines

    def to_the_end(self, deadline: float) -> list[str]:
        return self.until(lambda _line: False, deadline)


def run_devstack(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """devstack.py to its end, as a second `make run` that should not start anything."""
    return subprocess.run(
        [sys.executable, "devstack.py"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


def start_devstack(env: dict[str, str]) -> tuple[subprocess.Popen[str], Output]:
    """As `make run` starts it, in a session of its own: its process group stands for the
    terminal's foreground group, which Ctrl-C signals as a whole."""
    process = subprocess.Popen(
        [sys.executable, "devstack.py"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    return process, Output(process.stdout)


@pytest.fixture
def first(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output, dict[str, str]]]:
    ports = free_ports()
    env = devstack_env(tmp_path / "data", ports)
    process, output = start_devstack(env)
    try:
        yield process, output, env
    finally:
        stop([process])  # devstack stops its own parts on SIGINT (a no-op once it ended)


def pollers(env: dict[str, str]) -> set[str]:
    """The task types someone polls on the `leads` queue, asked through the CLI."""
    described = subprocess.run(
        [
            str(DEV_SERVER),
            "task-queue",
            "describe",
            "--task-queue",
            "leads",
            "--address",
            f"127.0.0.1:{env['BLANCO_DEV_TEMPORAL_PORT']}",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert described.returncode == 0, described.stderr
    return {poller["taskQueueType"] for poller in json.loads(described.stdout)["pollers"] or []}


def test_make_run_answers_at_its_banner_refuses_a_second_run_and_stops_in_order(
    first: tuple[subprocess.Popen[str], Output, dict[str, str]],
) -> None:
    process, output, env = first
    api = f"http://127.0.0.1:{env['BLANCO_DEV_API_PORT']}"

    output.until(lambda line: line == "Blanco is running.", START_DEADLINE)
    assert httpx.get(f"{api}/healthz", timeout=5).status_code == 200
    assert pollers(env) >= {"workflow", "activity"}
    banner = output.until(lambda line: line.startswith("Ctrl-C"), 5)
    assert any(line.strip().endswith(STARTER) for line in banner), banner

    second = run_devstack(env)
    said = second.stdout + second.stderr
    assert second.returncode == 0, said
    assert "Blanco is already running" in said
    assert f"http://localhost:{env['BLANCO_DEV_UI_PORT']}" in said
    assert f"http://localhost:{env['BLANCO_DEV_API_PORT']}" in said
    assert "Temporal Server:" not in said  # no second server was started
    assert httpx.get(f"{api}/healthz", timeout=5).status_code == 200

    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
    lines = output.to_the_end(STOP_DEADLINE)
    assert process.wait(timeout=STOP_DEADLINE) == 0
    assert [line for line in lines if line.startswith("stopped ")] == STOPPED
    assert "sleep durably" in lines[-1] and "make run" in lines[-1], lines[-3:]
    noise = [line for line in lines if any(word in line for word in NOISE)]
    assert noise == []


@pytest.mark.parametrize("taken", ["BLANCO_DEV_TEMPORAL_PORT", "BLANCO_DEV_API_PORT"])
def test_a_port_another_program_holds_is_named_in_one_line(tmp_path: Path, taken: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {**devstack_env(tmp_path / "data", free_ports()), taken: str(port)}
        done = run_devstack(env)
    said = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode != 0
    assert len(said) == 1 and str(port) in said[0] and "in use" in said[0], said


def test_a_part_that_does_not_come_up_is_named() -> None:
    silent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    failing = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        never = processes.Part("the worker", silent, awaited="polling", ready=lambda: False)
        assert processes.wait_until_ready([never], 0.5, threading.Event()) == (
            "the worker is not polling after 0.5 s"
        )
        failing.wait(timeout=30)
        dead = processes.Part("the API", failing, awaited="answering", ready=lambda: False)
        assert processes.wait_until_ready([dead], 30, threading.Event()) == (
            "the API exited (code 3) before answering"
        )
    finally:
        stop([silent, failing])
