"""The results store: one row per conversation, one per sales task.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("lead_id", sa.String(200), nullable=False),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("first_channel", sa.String(16), nullable=False),
        sa.Column("usable_channels", sa.String(64), nullable=False),
        sa.Column("contact_quality", sa.String(32), nullable=False),
        sa.Column("email_usable", sa.Boolean, nullable=False),
        sa.Column("phone_usable", sa.Boolean, nullable=False),
        sa.Column("phone_placeholder", sa.Boolean, nullable=False),
        sa.Column("no_usable_channel", sa.Boolean, nullable=False),
        sa.Column("arrived_at", sa.DateTime, nullable=False),
        sa.Column("first_answer_at", sa.DateTime),
        sa.Column("first_reply_at", sa.DateTime),
        sa.Column("touches_to_reply", sa.Integer),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("first_human_message_at", sa.DateTime),
        sa.Column("salesperson_id", sa.String(64)),
        sa.Column("appointment_set_at", sa.DateTime),
        sa.Column("appointment_at", sa.DateTime),
        sa.Column("appointment_kind", sa.String(16)),
        sa.Column("shown_at", sa.DateTime),
        sa.Column("no_show_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("outcome_reason", sa.String(120)),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_conversations_lead_id", "conversations", ["lead_id"])
    op.create_index("ix_conversations_dealer_arrived", "conversations", ["dealer_id", "arrived_at"])
    op.create_table(
        "tasks",
        sa.Column("task_key", sa.String(80), primary_key=True),
        sa.Column("lead_id", sa.String(200), nullable=False),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime),
        sa.Column("salesperson_id", sa.String(64)),
        sa.Column("reminded", sa.Boolean, nullable=False),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("done_at", sa.DateTime),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_tasks_lead_id", "tasks", ["lead_id"])
    op.create_index("ix_tasks_dealer_opened", "tasks", ["dealer_id", "opened_at"])


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_table("conversations")
