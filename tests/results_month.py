"""A generated month of conversations with known answers, written through
`ResultsStore.record_conversation` as the workflows write them (no personal data: ids,
kinds, flags and times). Shared by tests/api/test_inbox_results.py and
tests/browser/test_results.py.

Blocks of (count, source, kind, contact quality, path); the totals the tests expect follow
from the table by hand and are written out below it, so a mistake in either shows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.senders import Senders
from api.app import create_app
from api.inbox.sign_in import LinkDelivery
from leads.milestones import ConversationFigures, FinalOutcome
from leads.models import Channel, LeadKind, LeadStatus
from providers.outbox import OutboxProvider
from results.store import ResultsStore
from tests.api.conftest import SendGridKeys, inbound_secrets
from tests.api.served import serve
from tests.browser.conftest import end_sign_ins, inbox_config
from worker import build_worker

DEALER = "autohuis-test"
OTHER_DEALER = "autohuis-oost"
OTHER_SOURCE = "oost-only-portal"  # only the other dealer's rows have it


@dataclass(frozen=True)
class Block:
    count: int
    source: str
    kind: str
    quality: str
    path: str  # won | lost | unreachable | opted_out | open


MONTH = [
    Block(12, "website", "test_drive", "complete", "won"),
    Block(18, "website", "price_request", "complete", "lost"),
    Block(30, "marktplaats", "test_drive", "complete", "unreachable"),
    Block(8, "marktplaats", "offer", "placeholder_phone", "won"),
    Block(12, "marktplaats", "offer", "placeholder_phone", "lost"),
    Block(20, "autoscout24", "brochure_request", "placeholder_phone", "unreachable"),
    Block(6, "website", "brochure_request", "email_only", "won"),
    Block(9, "marktplaats", "price_request", "email_only", "lost"),
    Block(15, "autoscout24", "offer", "email_only", "opted_out"),
    Block(1, "autotrader", "brochure_request", "no_channel", "won"),
    Block(3, "autotrader", "test_drive", "no_channel", "lost"),
    Block(6, "autotrader", "general", "no_channel", "open"),
]
# What the month adds up to (by hand, from the table above).
LEADS, CONTACTED, WON = 140, 69, 27
BY_QUALITY = {  # leads, contacted, won
    "complete": (60, 30, 12),
    "placeholder_phone": (40, 20, 8),
    "email_only": (30, 15, 6),
    "no_channel": (10, 4, 1),
}
BY_SOURCE = {
    "marktplaats": (59, 29, 8),
    "website": (36, 36, 18),
    "autoscout24": (35, 0, 0),  # won 0 of 35 against 27 of 105: worse, beyond chance
    "autotrader": (10, 4, 1),  # under SMALL_GROUP: too few to compare
}
OLD_WEBSITE_LEADS = 5  # website leads 45 days ago: outside the default 30-day period

CONTACTED_PATHS = {"won", "lost"}
STATUS = {
    "won": (LeadStatus.WON, FinalOutcome.WON),
    "lost": (LeadStatus.LOST, FinalOutcome.LOST),
    "unreachable": (LeadStatus.UNREACHABLE, FinalOutcome.UNREACHABLE),
    "opted_out": (LeadStatus.OPTED_OUT, FinalOutcome.OPTED_OUT),
    "open": (LeadStatus.CONTACTING, None),
}


def figures(dealer: str, block: Block, arrived: datetime) -> ConversationFigures:
    status, outcome = STATUS[block.path]
    contacted = block.path in CONTACTED_PATHS
    won = block.path == "won"
    email = block.quality in ("complete", "placeholder_phone", "email_only")
    phone = block.quality == "complete"
    usable = [Channel.EMAIL] if email else []
    usable += [Channel.SMS] if phone else []
    n = uuid.uuid4().hex
    return ConversationFigures(
        conversation_id=n,
        lead_id=f"lead-{dealer}-{n[:24]}",
        dealer_id=dealer,
        source=block.source,
        kind=LeadKind(block.kind),
        first_channel=usable[0].value if usable else "none",
        usable_channels=usable,
        contact_quality=block.quality,
        email_usable=email,
        phone_usable=phone,
        phone_placeholder=block.quality == "placeholder_phone",
        no_usable_channel=not usable,
        arrived_at=arrived,
        first_answer_at=arrived + timedelta(seconds=1) if usable else None,
        first_reply_at=arrived + timedelta(hours=2) if contacted else None,
        touches_to_reply=1 if contacted else None,
        claimed_at=arrived + timedelta(hours=2, minutes=5) if contacted else None,
        salesperson_id="jan" if contacted else None,
        appointment_set_at=arrived + timedelta(days=1) if won else None,
        shown_at=arrived + timedelta(days=3) if won else None,
        status=status,
        outcome=outcome,
        outcome_reason="price" if block.path == "lost" else None,
        closed_at=arrived + timedelta(days=5) if outcome is not None else None,
        revision=10,
    )


def record_month(store: ResultsStore, now: datetime | None = None) -> None:
    """The month for DEALER, arrivals spread over the last 25 days; the other dealer's rows
    in the same period; and a few of DEALER's from before it."""
    now = now or datetime.now(UTC)
    n = 0
    for block in MONTH:
        for _ in range(block.count):
            arrived = now - timedelta(days=1 + n % 25, minutes=n)
            store.record_conversation(figures(DEALER, block, arrived))
            n += 1
    other = Block(50, OTHER_SOURCE, "offer", "complete", "won")
    for i in range(other.count):
        store.record_conversation(figures(OTHER_DEALER, other, now - timedelta(days=2, minutes=i)))
    old = Block(OLD_WEBSITE_LEADS, "website", "test_drive", "complete", "won")
    for i in range(old.count):
        store.record_conversation(figures(DEALER, old, now - timedelta(days=45, minutes=i)))


@asynccontextmanager
async def served_month(
    env: WorkflowEnvironment, folder: Path, public_base: str, store_url: str | None = None
) -> AsyncIterator[str]:
    """The API under uvicorn with this month in a real SQLite results store (and a worker for
    the inbox's sign-in workflows): the results page's tests over HTTP and in Chromium.
    `store_url`: another store instead, left as it is (one that cannot be reached)."""
    task_queue = f"results-month-{uuid.uuid4()}"
    config = inbox_config(task_queue, public_base)
    store = ResultsStore(store_url or f"sqlite:///{folder / 'results.db'}")
    if store_url is None:
        record_month(store)
    outbox = OutboxProvider(folder / "outbox.jsonl")
    app = create_app(config, client=None, secrets=inbound_secrets(SendGridKeys()), results=store)
    app.state.inbox_links = LinkDelivery(Senders(outbox=outbox), folder / "links.jsonl")
    server_env = {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": env.client.namespace,
    }
    async with build_worker(env.client, config, Senders(outbox=outbox), task_queue=task_queue):
        with serve(app, env=server_env) as url:
            try:
                yield url
            finally:
                await end_sign_ins(env.client, config)
                store.close()
