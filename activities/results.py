"""Writing the workflows' milestones to the results store (results/store.py).

A local activity: a row is one short upsert, written only when a conversation's figures
changed (twice for a lead that never answers: its first answer, then unreachable; with patch
`results-with-send` the send's own local activity writes the first answer, `write` below).
As a local activity it costs the lead's history one marker instead of an activity's three
events and a second workflow task. The upserts are idempotent, so a retry, or a workflow task
replayed after a worker died before completing it, changes nothing.
"""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity

from leads.milestones import RECORD_CONVERSATION, ConversationFigures
from results.store import ResultsStore

# The send's own write of the first answer waits this long at most: the send must not fail
# (and be retried) because the store is slow; the workflow writes what did not land.
WRITE_WITH_SEND = 5.0

log = structlog.get_logger(__name__)


class ResultsActivities:
    def __init__(self, store: ResultsStore | None = None) -> None:
        self._store = store  # None: BLANCO_RESULTS_URL, opened at the first write

    @property
    def store(self) -> ResultsStore:
        if self._store is None:
            self._store = ResultsStore.from_env()
        return self._store

    @activity.defn(name=RECORD_CONVERSATION)
    async def record_conversation(self, figures: ConversationFigures) -> None:
        await asyncio.to_thread(self.store.record_conversation, figures)

    async def write(self, figures: ConversationFigures) -> bool:
        """The send's write of a first answer: whether it landed. Any failure is only
        logged, since the message is already out and the workflow's own write (a local
        activity with its retries) takes over."""
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self.store.record_conversation, figures), WRITE_WITH_SEND
            )
        except Exception as error:  # whatever it was, the workflow writes the figures again
            log.warning("results_not_recorded_with_send", error=type(error).__name__)
            return False
        return True
