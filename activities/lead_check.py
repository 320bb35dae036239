"""Whether a task's lead has ended: what a `SalesTask` asks now and then (issue 13, hazard 3).

A task is started as an abandoned child (it must outlive its lead's continue-as-new), so
nothing closes it when an operator terminates its lead or an erasure deletes it: the lead
never gets to signal `lead_progress`. The task asks instead, by the lead's workflow id (its
latest run: a lead that continued as new runs on under the same id).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts import activities as names
from contracts.activities import LeadCheck

DESCRIBE_TIMEOUT = timedelta(seconds=5)
GONE = "gone"  # no such workflow: erased, or past the namespace's retention

# How the latest run of a lead's workflow id closed, and whether that ends the lead. Every
# close but continue-as-new does (its next run is the latest one, and runs); a status this
# table does not know yet (a newer server's) keeps the task: leaving a task open one check
# too long costs less than closing one whose lead still runs.
LEAD_ENDED: dict[WorkflowExecutionStatus.ValueType, bool] = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING: False,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_PAUSED: False,  # an operator resumes it
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: False,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED: True,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED: True,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED: True,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: True,
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: True,
}


def lead_ended(status: WorkflowExecutionStatus.ValueType) -> bool:
    """Whether a lead whose latest run has `status` is over for its tasks."""
    return LEAD_ENDED.get(status, False)


def status_name(status: WorkflowExecutionStatus.ValueType) -> str:
    """`terminated`, `running`, …: for the task's log line and details."""
    try:
        name = WorkflowExecutionStatus.Name(status)
    except ValueError:
        return f"status {status}"
    return name.removeprefix("WORKFLOW_EXECUTION_STATUS_").lower()


class LeadCheckActivities:
    def __init__(self, client: Client | None) -> None:
        self._client = client

    @activity.defn(name=names.CHECK_LEAD)
    async def check_lead(self, lead_id: str) -> LeadCheck:
        """How the latest run of `lead_id` stands. Any other RPC failure is raised: the task
        retries, then waits for its next check; it never ends on a failed one."""
        if self._client is None:
            raise RuntimeError("no Temporal client to describe the lead with")
        request = DescribeWorkflowExecutionRequest(
            namespace=self._client.namespace,
            execution=WorkflowExecution(workflow_id=lead_id),  # no run id: the latest run
        )
        try:
            # The raw call: the status is all it needs (no search attributes or memo decoded).
            described = await self._client.workflow_service.describe_workflow_execution(
                request, retry=True, timeout=DESCRIBE_TIMEOUT
            )
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return LeadCheck(ended=True, status=GONE)
            raise
        status = described.workflow_execution_info.status
        return LeadCheck(ended=lead_ended(status), status=status_name(status))
