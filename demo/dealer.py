"""The fast dealer: the config's dealer (its id, name, senders and salespeople, so the
manager sees the leads as theirs) with a plan compressed from weeks to minutes.

The engine keeps consecutive touches at least `leads.cadence.MIN_GAP` (a minute) apart, so a
cadence of seconds would still take a minute per touch: the compressed cadence says what
will really happen, one touch a minute. Four touches by default (the first answer, two
follow-ups, the last message) keep a month under about five minutes; the rest of the plan —
contact window and business hours off, a short grace, reminders and escalations after
seconds — lets every lead run at any hour.
"""

from __future__ import annotations

from datetime import timedelta

from leads.cadence import MIN_GAP
from leads.config import Config, Dealer

TASK_QUEUE = "demo-month"  # the demo's own: only its in-process worker polls it
DEMO_DEALER = "autohuis-west"
TOUCHES = 4
GRACE = timedelta(seconds=15)
REMIND_AFTER = timedelta(seconds=5)
ESCALATE_AFTER = timedelta(seconds=12)


def fast_dealer(dealer: Dealer, touches: int = TOUCHES, grace: timedelta = GRACE) -> Dealer:
    cadence = [MIN_GAP * step for step in range(touches)]
    settings = {
        **dealer.model_dump(),
        "contact_window": "always",
        "business_hours": "always",
        "cadence": cadence,
        "grace": grace,
        "remind_after": REMIND_AFTER,
        "escalate_after": ESCALATE_AFTER,
    }
    # Validated again: the compressed plan obeys the same rules as a configured one.
    return Dealer.model_validate(settings)


def demo_config(
    config: Config, dealer_id: str = DEMO_DEALER, touches: int = TOUCHES, grace: timedelta = GRACE
) -> Config:
    """The config the demo's worker and starts use: the fast dealer alone, on the demo's
    task queue (KeyError when the config has no such dealer)."""
    dealer = fast_dealer(config.dealer(dealer_id), touches, grace)
    temporal = config.temporal.model_copy(update={"task_queue": TASK_QUEUE})
    return Config.model_validate(
        {**config.model_dump(), "temporal": temporal.model_dump(), "dealers": [dealer.model_dump()]}
    )
