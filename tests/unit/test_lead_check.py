"""Which closes of a lead's latest run end its tasks (activities.lead_check)."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import WorkflowExecutionStatus

from activities.lead_check import LEAD_ENDED, lead_ended, status_name

S = WorkflowExecutionStatus


@pytest.mark.parametrize(
    ("status", "ended", "name"),
    [
        (S.WORKFLOW_EXECUTION_STATUS_RUNNING, False, "running"),
        # The run that continued as new is not the latest one; if it ever reads so, the
        # next run is on its way: the task stays.
        (S.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, False, "continued_as_new"),
        (S.WORKFLOW_EXECUTION_STATUS_PAUSED, False, "paused"),
        (S.WORKFLOW_EXECUTION_STATUS_TERMINATED, True, "terminated"),  # an operator, an erasure
        (S.WORKFLOW_EXECUTION_STATUS_COMPLETED, True, "completed"),  # its signal went missing
        (S.WORKFLOW_EXECUTION_STATUS_FAILED, True, "failed"),
        (S.WORKFLOW_EXECUTION_STATUS_CANCELED, True, "canceled"),
        (S.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, True, "timed_out"),
        (S.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, False, "unspecified"),
        (S.ValueType(99), False, "status 99"),  # a newer server's: keep the task
    ],
)
def test_which_statuses_of_the_lead_end_its_task(
    status: WorkflowExecutionStatus.ValueType, ended: bool, name: str
) -> None:
    assert lead_ended(status) is ended
    assert status_name(status) == name


def test_every_status_this_sdk_knows_is_decided() -> None:
    """A status added to the SDK's enum must be put in the table on purpose."""
    known = {value for _, value in S.items()} - {S.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED}
    assert set(LEAD_ENDED) == known
