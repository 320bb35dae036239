"""Which running lead an inbound message belongs to, found without a lookup table: by the
keyed hashes of the customer's addresses (the contact keys) that each lead's id is made of
and that the workflow publishes as the `ContactKeys` search attribute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from api.temporal_calls import RPC_TIMEOUT, Engine, guarded
from client import running_leads
from leads.config import Dealer
from leads.identity import lead_id_for_key

# Visibility trails a workflow's start by a moment (more on Elasticsearch): a reply right after
# its lead arrived is looked for again within this window before it counts as a new lead.
VISIBILITY_SETTLE = 2.0


async def find(
    engine: Engine,
    dealer: Dealer,
    keys: Sequence[str],
    settle: float = VISIBILITY_SETTLE,
    running: bool = True,
) -> list[str]:
    """Leads of `dealer` whose ContactKeys include any of `keys`, newest first (running
    ones, or with `running=False` ended ones too)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + settle
    while True:
        found = await guarded(
            running_leads(
                engine.client, dealer.id, list(keys), rpc_timeout=RPC_TIMEOUT, running=running
            ),
            "find lead",
        )
        if found or loop.time() >= give_up:
            return found
        await asyncio.sleep(0.1)


async def deliver(
    engine: Engine,
    dealer: Dealer,
    keys: Sequence[str],
    signal: Callable[..., Any],
    arg: Any,
    first: str | None = None,
) -> str | None:
    """Signal the customer's running lead: `first` (a lead a reply token names), then the
    lead whose id is a key itself (the common case, and strongly consistent), then a
    visibility search. None: no lead runs."""
    direct = [first] if first else []
    for lead_id in [*direct, *(lead_id_for_key(dealer.id, key) for key in keys)]:
        if await engine.signal(lead_id, signal, arg):
            return lead_id
    for lead_id in await find(engine, dealer, keys):
        if await engine.signal(lead_id, signal, arg):
            return lead_id
    return None


async def deliver_all(
    engine: Engine, dealer: Dealer, keys: Sequence[str], signal: Callable[..., Any], arg: Any
) -> list[str]:
    """Signal every running lead of the customer (an opt-out concerns the address, whichever
    conversation it appears in)."""
    candidates = [lead_id_for_key(dealer.id, key) for key in keys]
    candidates += await find(engine, dealer, keys)
    return [
        lead_id
        for lead_id in dict.fromkeys(candidates)
        if await engine.signal(lead_id, signal, arg)
    ]


async def known(engine: Engine, dealer: Dealer, keys: Sequence[str]) -> bool:
    """Did the dealer ever have a conversation with this customer?"""
    return bool(await find(engine, dealer, keys, settle=0, running=False))
