"""What a human task says about its lead (rule 6): one line for the task list and its alerts.

Blind tasks (the dealer's `blind_tasks`, on by default) show what everyone may see — the
task's kind, the lead's kind and the vehicle — so that who takes a lead is not chosen by its
source or its offer (rule 1: never pre-qualify); the full line, with source and offer, is
shown once the task is claimed. Never the customer's name, address or number.
"""

from __future__ import annotations

from leads.models import Lead, TaskKind


def task_summaries(lead: Lead, kind: TaskKind) -> tuple[str, str]:
    """The blind summary and the full one."""
    vehicle = lead.vehicle.label() if lead.vehicle else "no vehicle named"
    label = kind.value.replace("_", " ").capitalize()
    lead_kind = lead.kind.value.replace("_", " ")
    offer = f" · offer €{lead.offer_amount:,.0f}" if lead.offer_amount is not None else ""
    blind = f"{label} · {lead_kind} · {vehicle}"
    full = f"{label} · {lead_kind} · {lead.source} · {vehicle}{offer}"
    return blind, full
