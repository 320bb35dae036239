"""SignIn: one salesperson's inbox sign-in links and sessions (docs/inbox.md "The inbox").

The API is stateless and runs as several replicas, so what a sign-in needs to remember lives
here, one workflow per salesperson: id `signin-<dealer>-<salesperson id>`, started by
update-with-start. It holds only SHA-256 hashes of the link tokens and session ids, never
the tokens themselves: a leaked history opens no inbox.

- `issue_link`: a new one-time link; refused past three links in fifteen minutes;
- `redeem_link`: the link becomes a session (once, within fifteen minutes);
- `open_session`: a session without a link (the Bearer token fallback, checked by the API);
- `sign_out`: the session ends everywhere;
- query `session_live`: whether a session may be used (sessions last twelve hours).

The workflow wakes when the next link or session expires, forgets it, and completes once
nothing is live; a long history continues as new with what is still live.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field, StringConstraints
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from leads.models import Payload

LINK_LIFETIME = timedelta(minutes=15)
LINKS_PER_WINDOW = 3  # per LINK_LIFETIME: a mailbox cannot be flooded with links
SESSION_LIFETIME = timedelta(hours=12)  # a working day in the showroom
SESSIONS_KEPT = 20  # devices signed in at once; a 21st signs the oldest out
HISTORY_LIMIT = 1000  # events, before continuing as new
TOO_MANY_LINKS = "TooManyLinks"  # the ApplicationError type; details: [seconds to wait]
LINK_REFUSED = "LinkRefused"

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def workflow_id(dealer_id: str, salesperson_id: str) -> str:
    return f"signin-{dealer_id}-{salesperson_id}"


class Link(Payload):
    hash: Sha256Hex
    issued_at: datetime
    used: bool = False


class Session(Payload):
    hash: Sha256Hex
    expires_at: datetime


class SignInInput(Payload):
    dealer_id: str
    salesperson_id: str
    # Carried through continue-as-new.
    links: list[Link] = Field(default_factory=list)
    sessions: list[Session] = Field(default_factory=list)
    history_limit: int = HISTORY_LIMIT  # tests continue as new sooner


class IssueLink(Payload):
    link_hash: Sha256Hex


class LinkIssued(Payload):
    expires_at: datetime


class RedeemLink(Payload):
    link_hash: Sha256Hex
    session_hash: Sha256Hex


class OpenSession(Payload):
    session_hash: Sha256Hex


class SessionOpened(Payload):
    expires_at: datetime


class SignOut(Payload):
    session_hash: Sha256Hex


def _refuse(message: str, kind: str, *details: object) -> ApplicationError:
    return ApplicationError(message, *details, type=kind, non_retryable=True)


@workflow.defn(name="SignIn")
class SignIn:
    @workflow.init
    def __init__(self, start: SignInInput) -> None:
        start = SignInInput.model_validate(start)
        self._start = start
        self._links = list(start.links)
        self._sessions = list(start.sessions)
        self._changed = False

    @workflow.run
    async def run(self, start: SignInInput) -> None:
        while True:
            # The update that started this run was handled before this first step.
            await workflow.wait_condition(workflow.all_handlers_finished)
            self._forget(workflow.now())
            if not self._links and not self._sessions:
                return  # nothing live: the next sign-in starts a new run
            if self._history_is_long():
                workflow.continue_as_new(
                    SignInInput(
                        dealer_id=self._start.dealer_id,
                        salesperson_id=self._start.salesperson_id,
                        links=self._links,
                        sessions=self._sessions,
                        history_limit=self._start.history_limit,
                    )
                )
            self._changed = False
            wait = (self._next_expiry() - workflow.now()).total_seconds()
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=max(wait, 1.0),
                    timeout_summary="next link or session expires",
                )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        length = info.get_current_history_length()
        return info.is_continue_as_new_suggested() or length > self._start.history_limit

    def _forget(self, now: datetime) -> None:
        """Links past their lifetime (which also leaves the rate limit's window) and ended
        sessions are dropped."""
        self._links = [link for link in self._links if now < link.issued_at + LINK_LIFETIME]
        self._sessions = [s for s in self._sessions if now < s.expires_at]

    def _next_expiry(self) -> datetime:
        return min(
            [link.issued_at + LINK_LIFETIME for link in self._links]
            + [s.expires_at for s in self._sessions]
        )

    def _open(self, session_hash: str) -> SessionOpened:
        expires_at = workflow.now() + SESSION_LIFETIME
        self._sessions = [s for s in self._sessions if s.hash != session_hash]
        self._sessions.append(Session(hash=session_hash, expires_at=expires_at))
        self._sessions = self._sessions[-SESSIONS_KEPT:]
        self._changed = True
        return SessionOpened(expires_at=expires_at)

    # --- links ----------------------------------------------------------------------------

    @workflow.update
    def issue_link(self, request: IssueLink) -> LinkIssued:
        now = workflow.now()
        self._links.append(Link(hash=request.link_hash, issued_at=now))
        self._changed = True
        return LinkIssued(expires_at=now + LINK_LIFETIME)

    @issue_link.validator
    def _validate_issue(self, request: IssueLink) -> None:
        now = workflow.now()
        recent = sorted(
            link.issued_at for link in self._links if now < link.issued_at + LINK_LIFETIME
        )
        if len(recent) >= LINKS_PER_WINDOW:
            wait = recent[-LINKS_PER_WINDOW] + LINK_LIFETIME - now
            seconds = max(1, math.ceil(wait.total_seconds()))
            minutes = math.ceil(seconds / 60)
            raise _refuse(
                f"too many sign-in links: try again in {minutes} minutes", TOO_MANY_LINKS, seconds
            )
        if any(link.hash == request.link_hash for link in self._links):
            raise _refuse("this link was issued already", LINK_REFUSED)

    @workflow.update
    def redeem_link(self, request: RedeemLink) -> SessionOpened:
        for link in self._links:
            if link.hash == request.link_hash:
                link.used = True
        return self._open(request.session_hash)

    @redeem_link.validator
    def _validate_redeem(self, request: RedeemLink) -> None:
        link = next((link for link in self._links if link.hash == request.link_hash), None)
        if link is None or workflow.now() >= link.issued_at + LINK_LIFETIME:
            # An expired link is forgotten at the next wake-up: unknown and expired read alike.
            raise _refuse("this sign-in link has expired", LINK_REFUSED)
        if link.used:
            raise _refuse("this sign-in link was already used", LINK_REFUSED)

    # --- sessions -------------------------------------------------------------------------

    @workflow.update
    def open_session(self, request: OpenSession) -> SessionOpened:
        """A session the API opened on another proof (the salesperson's Bearer token)."""
        return self._open(request.session_hash)

    @workflow.update
    def sign_out(self, request: SignOut) -> None:
        self._sessions = [s for s in self._sessions if s.hash != request.session_hash]
        self._changed = True

    @workflow.query
    def session_live(self, session_hash: str) -> bool:
        now = workflow.now()
        return any(s.hash == session_hash and now < s.expires_at for s in self._sessions)
