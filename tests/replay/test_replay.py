"""Replay tests: the recorded histories in tests/histories must replay against today's
`LeadFollowUp` and `SalesTask`, so a change that would break the leads already running in
production (an incompatible, unpatched change to the commands a workflow issues) fails CI.

Each ``tests/histories/*.json`` is a real run recorded by ``tests/histories/record.py`` on
the time-skipping test server; replaying needs no server. The payloads are not encrypted (the
pydantic converter without the production encryption codec, which the workflow code never
sees), so the histories are readable in review and need no key. When this fails after a workflow
change, the change is incompatible: put it behind ``workflow.patched(...)`` (as
``contact-keys`` and ``task-memo`` are) so that old histories take the old path. Only then,
to cover the new path too, re-record:

    .venv/bin/python -m tests.histories.record

and commit the new histories alongside the change, keeping the patch. Histories are never
re-recorded to make an incompatible change pass: the runs already in production have the
old histories, and would fail the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio import workflow

# This module defines a workflow (the incompatible variant below), so the sandbox imports it
# again for each run: everything else it imports is passed through, not re-imported.
with workflow.unsafe.imports_passed_through():
    import base64
    from typing import Any

    import pytest
    from temporalio.client import WorkflowHistory
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    from leads.conversation import Conversation
    from leads.models import Lead, LeadState
    from worker import workflow_runner
    from workflows.erasure import Erasure
    from workflows.lead_follow_up import LeadFollowUp
    from workflows.opt_out import OptOut
    from workflows.sales_task import SalesTask

HISTORIES = Path(__file__).parent.parent / "histories"


def recorded() -> list[Path]:
    # Listed when pytest collects, not at import: the sandbox forbids file access then.
    return sorted(HISTORIES.glob("*.json"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One replay test per recorded history."""
    if "history_file" in metafunc.fixturenames:
        paths = recorded()
        metafunc.parametrize("history_file", paths, ids=[path.stem for path in paths])


def load(path: Path) -> WorkflowHistory:
    """A recorded history; the recorder keeps the workflow id in the start event (the lead
    id the workflow derives its task ids from)."""
    data = json.loads(path.read_text())
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    workflow_id = started.get("workflowId")
    assert workflow_id, f"{path.name}: no workflowId in the start event; re-record it"
    return WorkflowHistory.from_json(workflow_id, data)


def replayer(*workflows: type, sandboxed: bool = True) -> Replayer:
    """A replayer set up as a worker is: the pydantic converter, and the sandbox with the
    worker's pass-through modules (the tests' worker) or none (worker.py's default)."""
    return Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(sandboxed),
    )


def test_the_recorded_histories_are_there() -> None:
    names = [path.name for path in recorded()]
    assert len(names) >= 5, names
    assert "reply-SalesTask.json" in names
    assert "continue-as-new-LeadFollowUp.json" in names
    assert "after-erasure-LeadFollowUp.json" in names  # the opt-out-registry patch's path
    assert "newer-version-LeadFollowUp-continued.json" in names  # payloads from a newer version
    # send_message and the appointment-confirmation and claim-tells-lead patches' paths
    assert "salesperson-LeadFollowUp.json" in names
    assert "salesperson-SalesTask.json" in names
    assert "erasure-Erasure.json" in names  # the Erasure workflow's steps
    # the task-follows-lead patch's paths: done as before, and ended by its check on its lead
    assert "follows-lead-reply-SalesTask.json" in names
    assert "lead-ended-SalesTask.json" in names


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
async def test_recorded_history_replays(history_file: Path, sandboxed: bool) -> None:
    history = load(history_file)
    workflows = (LeadFollowUp, SalesTask, OptOut, Erasure)
    result = await replayer(*workflows, sandboxed=sandboxed).replay_workflow(history)
    assert result.replay_failure is None


# --- a newer version's payloads (issue 9, finding 4) --------------------------------------

UNKNOWN = "added_by_a_newer_version"


def payloads_by_event(path: Path) -> dict[str, list[Any]]:
    """Every stored payload of a recorded history, decoded from JSON, by event type."""
    found: dict[str, list[Any]] = {}

    def collect(event_type: str, node: Any) -> None:
        if isinstance(node, dict):
            if "data" in node and "metadata" in node:
                found.setdefault(event_type, []).append(json.loads(base64.b64decode(node["data"])))
                return
            for value in node.values():
                collect(event_type, value)
        elif isinstance(node, list):
            for value in node:
                collect(event_type, value)

    for event in json.loads(path.read_text())["events"]:
        event_type = event["eventType"].removeprefix("EVENT_TYPE_")
        collect(event_type, {k: v for k, v in event.items() if k.endswith("Attributes")})
    return found


def carries_unknown(value: Any) -> bool:
    return UNKNOWN in json.dumps(value)


def test_the_newer_version_histories_carry_unknown_fields_where_they_claim() -> None:
    """So the replays of them prove something: the lead and its nested models, signals,
    updates, activity results (local ones too: the dealer plan) and the conversation carried
    through continue-as-new hold fields this version does not know."""
    lead = payloads_by_event(HISTORIES / "newer-version-LeadFollowUp.json")
    for event_type in (
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "ACTIVITY_TASK_COMPLETED",
        "MARKER_RECORDED",
    ):
        assert any(carries_unknown(p) for p in lead[event_type]), event_type
    started = lead["WORKFLOW_EXECUTION_STARTED"][0]
    assert UNKNOWN in started and UNKNOWN in started["customer"] and UNKNOWN in started["vehicle"]
    continued = payloads_by_event(HISTORIES / "newer-version-LeadFollowUp-continued.json")
    (carried,) = [
        p for p in continued["WORKFLOW_EXECUTION_STARTED"] if isinstance(p, dict) and "plan" in p
    ]
    assert UNKNOWN in carried["lead"] and UNKNOWN in carried["plan"]
    assert UNKNOWN in carried["plan"]["contact_window"]
    assert any(carries_unknown(p) for p in continued["WORKFLOW_EXECUTION_UPDATE_ACCEPTED"])
    # ... and the run's result, decoded by this version, passes them on.
    (result,) = continued["WORKFLOW_EXECUTION_COMPLETED"]
    state = LeadState.model_validate(result)
    assert state.customer is not None and UNKNOWN in (state.customer.model_extra or {})
    task = payloads_by_event(HISTORIES / "newer-version-SalesTask.json")
    assert any(carries_unknown(p) for p in task["WORKFLOW_EXECUTION_UPDATE_ACCEPTED"])
    assert any(carries_unknown(p) for p in task["ACTIVITY_TASK_COMPLETED"])


# --- the guard itself: an incompatible change must fail the replay -----------------------


@workflow.defn(name="LeadFollowUp")
class IncompatibleLeadFollowUp(LeadFollowUp):
    """LeadFollowUp with one timer before its logic, unpatched: every recorded run issued
    other commands first, so replaying any of them must fail."""

    @workflow.run
    async def run(self, lead: Lead, carried: Conversation | None = None) -> LeadState:
        await workflow.sleep(1)
        return await super().run(lead, carried)


async def test_an_incompatible_change_fails_the_replay() -> None:
    history = load(HISTORIES / "reply-LeadFollowUp.json")
    with pytest.raises(workflow.NondeterminismError) as failure:
        await replayer(IncompatibleLeadFollowUp, SalesTask).replay_workflow(history)
    assert "[TMPRL1100] Nondeterminism error" in str(failure.value)


# --- public holidays recorded in the plan (issue 13, hazard 1) ----------------------------

HOLIDAYS_RECORDED = HISTORIES / "holidays-recorded-unreachable-LeadFollowUp.json"


def without_recorded_dates(path: Path) -> WorkflowHistory:
    """The history as a lead from before would have it: its plan without `holiday_dates`,
    so its cadence asks the holidays library."""
    data = json.loads(path.read_text())
    stripped = 0
    for event in data["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if not marker or marker["markerName"] != "core_local_activity":
            continue
        for payload in marker["details"].get("result", {}).get("payloads", []):
            if "data" not in payload:  # a local activity that returned nothing
                continue
            value = json.loads(base64.b64decode(payload["data"]))
            plan = value.get("plan") if isinstance(value, dict) else None
            for window in (plan or {}).values():
                if isinstance(window, dict) and window.pop("holiday_dates", None) is not None:
                    stripped += 1
            payload["data"] = base64.b64encode(json.dumps(value).encode()).decode()
    assert stripped, f"{path.name}: no recorded holiday dates to strip"
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    return WorkflowHistory.from_json(started["workflowId"], data)


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandboxed", "unsandboxed"])
async def test_rule4_a_new_holidays_release_keeps_the_timers_a_lead_recorded(
    another_holidays_release: None, sandboxed: bool
) -> None:
    """The lead's plan holds its public holidays: replayed with a library that closes every
    weekday, its decisions and timers are the ones it took."""
    history = load(HOLIDAYS_RECORDED)
    result = await replayer(LeadFollowUp, sandboxed=sandboxed).replay_workflow(history)
    assert result.replay_failure is None


async def test_rule4_a_plan_that_did_not_record_its_holidays_replays_against_the_library(
    another_holidays_release: None,
) -> None:
    """The hazard the recorded dates remove: the same run with a plan from before (the
    library's holidays) takes other decisions under another release, and fails its replay."""
    history = without_recorded_dates(HOLIDAYS_RECORDED)
    result = await replayer(LeadFollowUp).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None


async def test_a_plan_without_recorded_holidays_still_replays_with_the_library_it_ran_with() -> (
    None
):
    """The control of the test above: the stripped history is a valid run of a plan from
    before, with the library's own table."""
    history = without_recorded_dates(HOLIDAYS_RECORDED)
    result = await replayer(LeadFollowUp).replay_workflow(history)
    assert result.replay_failure is None
