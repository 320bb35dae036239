"""The `Erasure` workflow's module stays free of I/O stacks (its activities are called by
name), and its id carries the lead id only."""

from __future__ import annotations

import subprocess
import sys

from leads.identity import erasure_id, task_id

HEAVY = ("temporalio.client", "httpx", "sqlalchemy", "activities", "api", "twilio", "sendgrid")


def test_the_erasure_workflow_imports_no_io_stack() -> None:
    # A fresh interpreter: this one has imported everything already.
    probe = (
        "import sys, workflows.erasure; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]", found


def test_the_erasure_id_is_the_lead_id_and_no_task_s() -> None:
    lead = "lead-autohuis-test-" + "ab" * 12
    assert erasure_id(lead) == f"erasure-{lead}"
    # The histories an erasure deletes are found by these prefixes: never its own.
    assert not erasure_id(lead).startswith((lead, f"task-{lead}-", task_id(lead, 1)))
