"""The API's calls of the `SignIn` workflow (workflows/sign_in.py), each under the engine's
deadline and error mapping (`api.temporal_calls.guarded`: Temporal down → 503, throttled →
429). Only hashes are sent: the tokens and session ids stay with the browser."""

from __future__ import annotations

import contextlib
from datetime import datetime

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import QueryRejectCondition, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from api.temporal_calls import RPC_TIMEOUT, NotRunning, guarded
from workflows.sign_in import (
    TOO_MANY_LINKS,
    IssueLink,
    OpenSession,
    RedeemLink,
    SignIn,
    SignInInput,
    SignOut,
    workflow_id,
)


class TooManyLinks(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after  # seconds


class LinkRefused(Exception):
    """The link is unknown, used or expired: `used` says whether it was used."""

    def __init__(self, used: bool) -> None:
        super().__init__("used" if used else "expired")
        self.used = used


def _cause(error: WorkflowUpdateFailedError) -> ApplicationError | None:
    return error.cause if isinstance(error.cause, ApplicationError) else None


class SignIns:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    def _start(self, dealer_id: str, person_id: str) -> WithStartWorkflowOperation[SignIn, None]:
        return WithStartWorkflowOperation(
            SignIn.run,
            SignInInput(dealer_id=dealer_id, salesperson_id=person_id),
            id=workflow_id(dealer_id, person_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"Inbox sign-in · {person_id}",
        )

    async def issue_link(self, dealer_id: str, person_id: str, link_hash: str) -> datetime:
        """A new one-time link; returns when it expires. TooManyLinks past the rate limit."""

        async def issue() -> datetime:
            try:
                issued = await self._client.execute_update_with_start_workflow(
                    SignIn.issue_link,
                    IssueLink(link_hash=link_hash),
                    start_workflow_operation=self._start(dealer_id, person_id),
                    rpc_timeout=RPC_TIMEOUT,
                )
            except WorkflowUpdateFailedError as error:
                cause = _cause(error)
                if cause is not None and cause.type == TOO_MANY_LINKS and cause.details:
                    raise TooManyLinks(int(cause.details[0])) from None
                raise
            return issued.expires_at

        return await guarded(issue(), "issue a sign-in link")

    async def redeem(
        self, dealer_id: str, person_id: str, link_hash: str, session_hash: str
    ) -> datetime:
        """The link becomes a session; returns when it expires. LinkRefused otherwise."""
        handle = self._client.get_workflow_handle_for(SignIn.run, workflow_id(dealer_id, person_id))

        async def redeem() -> datetime:
            try:
                opened = await handle.execute_update(
                    SignIn.redeem_link,
                    RedeemLink(link_hash=link_hash, session_hash=session_hash),
                    rpc_timeout=RPC_TIMEOUT,
                )
            except WorkflowUpdateFailedError as error:
                cause = _cause(error)
                raise LinkRefused(used=cause is not None and "used" in cause.message) from None
            return opened.expires_at

        try:
            return await guarded(redeem(), "redeem a sign-in link")
        except NotRunning:
            # Nothing was live: the workflow completed, so the link is long expired.
            raise LinkRefused(used=False) from None

    async def open_session(self, dealer_id: str, person_id: str, session_hash: str) -> datetime:
        """A session without a link (the Bearer token fallback); returns when it expires."""
        opened = await guarded(
            self._client.execute_update_with_start_workflow(
                SignIn.open_session,
                OpenSession(session_hash=session_hash),
                start_workflow_operation=self._start(dealer_id, person_id),
                rpc_timeout=RPC_TIMEOUT,
            ),
            "open a session",
        )
        return opened.expires_at

    async def live(self, dealer_id: str, person_id: str, session_hash: str) -> bool:
        handle = self._client.get_workflow_handle_for(SignIn.run, workflow_id(dealer_id, person_id))

        async def ask() -> bool:
            try:
                return await handle.query(
                    SignIn.session_live,
                    session_hash,
                    reject_condition=QueryRejectCondition.NOT_OPEN,
                    rpc_timeout=RPC_TIMEOUT,
                )
            except WorkflowQueryRejectedError:
                return False  # the workflow completed: nothing was live any more

        try:
            return await guarded(ask(), "check the session")
        except NotRunning:
            return False

    async def sign_out(self, dealer_id: str, person_id: str, session_hash: str) -> None:
        handle = self._client.get_workflow_handle_for(SignIn.run, workflow_id(dealer_id, person_id))
        with contextlib.suppress(NotRunning):  # nothing live to end
            await guarded(
                handle.execute_update(
                    SignIn.sign_out, SignOut(session_hash=session_hash), rpc_timeout=RPC_TIMEOUT
                ),
                "sign out",
            )
