"""Error type names: the `type` of an ApplicationError that crosses from an activity to a
workflow, or from a workflow to the API, and what the receiver decides on."""

from __future__ import annotations

from typing import Final

# The provider refused the address for good: the touch moves to the next usable channel.
PERMANENT: Final = "PermanentDelivery"
# Our side is misconfigured (credentials, sender): recorded, the channel is kept.
REJECTED: Final = "ProviderRejected"
# A workflow update refused by the conversation's rules (the API answers 409 with its text).
REFUSED: Final = "Refused"
# An activity asked for a dealer the config file does not have.
UNKNOWN_DEALER: Final = "UnknownDealer"
