"""How an activity's failure reaches a workflow, for the workflows that read its cause.

An activity's failure arrives as an ActivityError wrapping its cause; a local activity's
non-retryable failure arrives as the ApplicationError itself, and one that ran out of its
deadline as a TimeoutError.
"""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

ACTIVITY_FAILED = (ActivityError, ApplicationError, TemporalTimeoutError)


def failure_cause(error: FailureError) -> BaseException | None:
    """What the activity raised (or the timeout), unwrapped from an ActivityError."""
    return error.cause if isinstance(error, ActivityError) else error
