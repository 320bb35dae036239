"""The store's tables (SQLAlchemy Core). A change here comes with an Alembic revision in
results/migrations/versions/, and tests/results/test_migrations.py checks they agree."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

# Times are naive UTC: SQLite keeps no offset, and one convention serves both databases.
conversations = Table(
    "conversations",
    metadata,
    Column("conversation_id", String(64), primary_key=True),
    Column("lead_id", String(200), nullable=False, index=True),
    Column("dealer_id", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("first_channel", String(16), nullable=False),
    Column("usable_channels", String(64), nullable=False),  # comma-separated Channel values
    Column("contact_quality", String(32), nullable=False),
    Column("email_usable", Boolean, nullable=False),
    Column("phone_usable", Boolean, nullable=False),
    Column("phone_placeholder", Boolean, nullable=False),
    Column("no_usable_channel", Boolean, nullable=False),
    Column("arrived_at", DateTime, nullable=False),
    Column("first_answer_at", DateTime),
    Column("first_reply_at", DateTime),
    Column("touches_to_reply", Integer),
    Column("claimed_at", DateTime),
    Column("first_human_message_at", DateTime),
    Column("salesperson_id", String(64)),
    Column("appointment_set_at", DateTime),
    Column("appointment_at", DateTime),
    Column("appointment_kind", String(16)),
    Column("shown_at", DateTime),
    Column("no_show_at", DateTime),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("outcome_reason", String(120)),
    Column("closed_at", DateTime),
    Column("revision", Integer, nullable=False),
    Column("recorded_at", DateTime, nullable=False),  # the store's clock: the last write
    # The reports read one dealer's arrivals in a period.
    Index("ix_conversations_dealer_arrived", "dealer_id", "arrived_at"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("task_key", String(80), primary_key=True),
    Column("lead_id", String(200), nullable=False, index=True),
    Column("dealer_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("claimed_at", DateTime),
    Column("salesperson_id", String(64)),
    Column("reminded", Boolean, nullable=False),
    Column("escalated", Boolean, nullable=False),
    Column("done_at", DateTime),
    Column("recorded_at", DateTime, nullable=False),
    Index("ix_tasks_dealer_opened", "dealer_id", "opened_at"),
)

# Kept from the first write on: what the lead was when it arrived.
FIXED = (
    "lead_id",
    "dealer_id",
    "source",
    "kind",
    "first_channel",
    "usable_channels",
    "contact_quality",
    "email_usable",
    "phone_usable",
    "phone_placeholder",
    "no_usable_channel",
    "arrived_at",
)
# A milestone's first time: once set, never moved (nor cleared).
FIRST = (
    "first_answer_at",
    "first_reply_at",
    "touches_to_reply",
    "claimed_at",
    "first_human_message_at",
    "appointment_set_at",
    "shown_at",
    "no_show_at",
)
# Where the conversation stands: the newest revision's.
LATEST = (
    "salesperson_id",
    "appointment_at",
    "appointment_kind",
    "status",
    "outcome",
    "outcome_reason",
    "closed_at",
    "revision",
)
