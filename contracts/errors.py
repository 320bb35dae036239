"""Error type names: the `type` of an ApplicationError that crosses from an activity to a
workflow, or from a workflow to the API, and what the receiver decides on."""

from __future__ import annotations

from typing import Final

# A send's failures, named where the lead decides what they mean (leads/send_failure.py):
# PERMANENT, the provider refused the address for good (the touch moves to the next usable
# channel); REJECTED, our side is misconfigured (recorded, the channel is kept).
from leads.send_failure import PERMANENT as PERMANENT
from leads.send_failure import REJECTED as REJECTED

# A workflow update refused by the conversation's rules (the API answers 409 with its text).
REFUSED: Final = "Refused"
# An activity asked for a dealer the config file does not have.
UNKNOWN_DEALER: Final = "UnknownDealer"
# What LeadFollowUp's queries answer before its opening has built the conversation (a run
# whose whole history never got that far holds nothing of the customer): erasure reads it so.
STILL_STARTING: Final = "the lead is still starting"
