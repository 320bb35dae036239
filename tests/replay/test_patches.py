"""Every patch a workflow still branches on guards a path that a recorded history takes
(issue 13, hazard 5): a `workflow.patched` whose old path was never recorded is a branch no
replay test proves. A patch whose old path no run can take any more is deprecated with
`workflow.deprecate_patch` instead (docs/changing-workflows.md has the plan for each)."""

from __future__ import annotations

import ast
import base64
import inspect
import json
from pathlib import Path
from types import ModuleType

import pytest

from workflows import lead_follow_up, sales_task

HISTORIES = Path(__file__).parent.parent / "histories"

# patch → a recorded history of its old path: a run of that workflow without the patch's
# marker, and without the markers of the newer patches that imply it.
OLD_PATHS = {
    "first-answer-in-open": "with-send-unreachable-LeadFollowUp",
    "results-with-send": "lean-unreachable-LeadFollowUp",
    "lean-history": "results-LeadFollowUp",
    "opt-out-registry": "unreachable-LeadFollowUp",
    "results-store": "newer-version-LeadFollowUp",
    "appointment-confirmation": "reply-LeadFollowUp",  # an appointment booked without it
    "claim-tells-lead": "reply-SalesTask",
    "task-follows-lead": "first-in-open-reply-SalesTask",
}
# Newer patches that imply an older one (asked instead of it).
IMPLIED_BY = {
    "results-with-send": {"first-answer-in-open"},
    "lean-history": {"results-with-send", "first-answer-in-open"},
    "opt-out-registry": {"lean-history", "results-with-send", "first-answer-in-open"},
    "results-store": {"lean-history", "results-with-send", "first-answer-in-open"},
}


def branching_patches(module: ModuleType) -> set[str]:
    """The patch ids the module passes to `workflow.patched` (constants resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "patched"
        ):
            (arg,) = node.args
            found.add(getattr(module, arg.id) if isinstance(arg, ast.Name) else arg.value)  # type: ignore[attr-defined]
    return found


def markers(history: str) -> set[str]:
    ids: set[str] = set()
    for event in json.loads((HISTORIES / f"{history}.json").read_text())["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker["markerName"] == "core_patch":
            payload = marker["details"]["patch-data"]["payloads"][0]["data"]
            ids.add(json.loads(base64.b64decode(payload))["id"])
    return ids


@pytest.mark.parametrize("module", [lead_follow_up, sales_task], ids=lambda m: m.__name__)
def test_every_branching_patch_has_a_recorded_old_path(module: ModuleType) -> None:
    patches = branching_patches(module)
    assert patches, module.__name__
    assert patches <= set(OLD_PATHS), sorted(patches - set(OLD_PATHS))


@pytest.mark.parametrize(("patch", "history"), sorted(OLD_PATHS.items()))
def test_the_old_path_history_lacks_the_patch(patch: str, history: str) -> None:
    found = markers(history)
    assert patch not in found and not (IMPLIED_BY.get(patch, set()) & found), sorted(found)
