"""worker.py's sandbox setting: the worker runs its workflows outside the SDK's sandbox unless
BLANCO_WORKFLOW_SANDBOX=on (docs/benchmarks.md argues why, with figures); the tests run them in it.
A value that is neither stops the worker before it connects, with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker import SANDBOX_SETTING, sandbox_wanted, workflow_runner

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "sandboxed"),
    [
        ({}, False),
        ({SANDBOX_SETTING: ""}, False),
        ({SANDBOX_SETTING: "off"}, False),
        ({SANDBOX_SETTING: "on"}, True),
        ({SANDBOX_SETTING: " ON "}, True),
    ],
)
def test_the_worker_runs_unsandboxed_unless_asked(env: dict[str, str], sandboxed: bool) -> None:
    assert sandbox_wanted(env) is sandboxed
    runner = workflow_runner(sandbox_wanted(env))
    assert isinstance(runner, SandboxedWorkflowRunner if sandboxed else UnsandboxedWorkflowRunner)


def test_the_tests_default_is_the_sandbox() -> None:
    assert isinstance(workflow_runner(), SandboxedWorkflowRunner)


@pytest.mark.parametrize("value", ["yes", "1", "sandbox"])
def test_a_value_that_is_neither_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=f"{SANDBOX_SETTING} must be on or off"):
        sandbox_wanted({SANDBOX_SETTING: value})


def test_the_worker_refuses_to_start_with_a_bad_value() -> None:
    # Nothing to connect to: the worker must stop before it tries.
    env = {**os.environ, SANDBOX_SETTING: "maybe", "TEMPORAL_ADDRESS": "127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert f"{SANDBOX_SETTING} must be on or off, not 'maybe'" in done.stderr
