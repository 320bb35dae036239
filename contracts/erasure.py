"""What the `Erasure` workflow and its activities hand each other (rule 7, docs/architecture.md;
docs/temporal-interface.md).

Only ids (lead, task, run, keyed-hash opt-out ids), channels and counts: the workflow's
history stays after the lead's is gone and must hold nothing of the customer. The activities
read the customer's data from the lead and turn it into keyed hashes before returning.
"""

from __future__ import annotations

from pydantic import Field

from contracts.workflows import ERASURE
from leads.models import Channel, Payload

# The termination reason of an erasure: reads recognise an erased run by it and answer 404
# while Temporal removes the history (api/temporal_calls.py, `_erased`).
ERASED = "erased"
ERASURE_WORKFLOW = ERASURE

# Activity names: the workflow calls them by name, without importing their I/O stack.
END_WORKFLOWS = "erasure_end_workflows"
WHAT_SURVIVES = "erasure_what_survives"
KEEP_OPT_OUTS = "erasure_keep_opt_outs"
FIND_HISTORIES = "erasure_find_histories"
DELETE_HISTORIES = "erasure_delete_histories"
ERASE_OUTBOX = "erasure_erase_outbox"
UNLINK_RESULTS = "erasure_unlink_results"


class ErasureRequest(Payload):
    dealer_id: str
    lead_id: str


class KeptOptOut(Payload):
    """One `OptOut` workflow to keep: its id (a keyed hash of the address or number) and the
    channels the customer refused on it."""

    workflow_id: str
    channels: list[Channel]


class WhatSurvives(Payload):
    """Read from the lead before anything is deleted."""

    opt_outs: list[KeptOptOut] = Field(default_factory=list)
    task_ids: list[str] = Field(
        default_factory=list
    )  # the tasks the lead's runs opened (visibility may lag)


class KeepOptOuts(Payload):
    dealer_id: str
    opt_outs: list[KeptOptOut]


class EndWorkflows(Payload):
    workflow_ids: list[str]


class FindHistories(Payload):
    lead_id: str
    known: list[str] = Field(
        default_factory=list
    )  # ids to delete whatever visibility says (its current runs)


class Execution(Payload):
    workflow_id: str
    run_id: str = ""  # empty: the current run


class DeleteHistories(Payload):
    executions: list[Execution]


class ErasureResult(Payload):
    executions: int = 0  # runs whose deletion Temporal accepted
    opt_outs: int = 0  # OptOut workflows kept (started or added to)
    outbox_lines: int = 0
    results_rows: int = 0  # rows of the results store unlinked from the lead
