"""OptOut: what survives of an erased customer's opt-out (rule 7, docs/architecture.md).

Erasing a lead deletes its histories, and with them the customer's "stop". One `OptOut`
workflow per identifier keeps it: its id is `optout-<dealer>-<keyed hash>` (no personal data),
its memo the channels the customer refused. It never does anything; it only waits, so it
costs no worker time and outlives any retention period. A new lead of the same customer looks
it up by id (activity `opted_out_channels`) before its first touch.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.memo import OPT_OUT_CHANNELS
    from contracts.workflows import OPT_OUT
    from leads.models import Channel


@workflow.defn(name=OPT_OUT)
class OptOut:
    @workflow.init
    def __init__(self, channels: list[Channel]) -> None:
        self._channels: set[Channel] = set()

    @workflow.run
    async def run(self, channels: list[Channel]) -> None:
        self._add(channels)
        # An opt-out does not expire: only an operator ends it (terminate or delete).
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def add(self, channels: list[Channel]) -> None:
        """Another erased lead of the same customer refused these channels too."""
        self._add(channels)

    def _add(self, channels: list[Channel]) -> None:
        before = len(self._channels)
        self._channels.update(Channel(c) for c in channels)
        if len(self._channels) != before:
            workflow.upsert_memo({OPT_OUT_CHANNELS: sorted(self._channels)})

    @workflow.query
    def channels(self) -> list[Channel]:
        return sorted(self._channels)
