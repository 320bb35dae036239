"""Writing the workflows' milestones to the results store (results/store.py).

A local activity: a row is one short upsert, written only when a conversation's figures
changed (twice for a lead that never answers: its first answer, then unreachable), and as a
local activity it costs the lead's history one marker instead of an activity's three events
and a second workflow task. The upserts are idempotent, so a retry, or a workflow task
replayed after a worker died before completing it, changes nothing.
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from leads.milestones import RECORD_CONVERSATION, ConversationFigures
from results.store import ResultsStore


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
