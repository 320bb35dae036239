"""The `Erasure` workflow's id carries the lead id only. (That its module, like every
workflow module, loads no I/O stack is tests/unit/test_layers.py's.)"""

from __future__ import annotations

from leads.identity import erasure_id, task_id


def test_the_erasure_id_is_the_lead_id_and_no_task_s() -> None:
    lead = "lead-autohuis-test-" + "ab" * 12
    assert erasure_id(lead) == f"erasure-{lead}"
    # The histories an erasure deletes are found by these prefixes: never its own.
    assert not erasure_id(lead).startswith((lead, f"task-{lead}-", task_id(lead, 1)))
