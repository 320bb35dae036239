"""Reading the dealer's settings for a workflow (the config file stays out of workflow code)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from leads.config import Config, Dealer, DealerPlan
from leads.identity import contact_keys
from leads.models import Strict


class ContactKeysRequest(Strict):
    dealer_id: str
    identifiers: list[str]


class DealerActivities:
    def __init__(self, config: Config) -> None:
        self._config = config

    def _dealer(self, dealer_id: str) -> Dealer:
        try:
            return self._config.dealer(dealer_id)
        except KeyError:
            raise ApplicationError(
                f"unknown dealer {dealer_id!r}", type="UnknownDealer", non_retryable=True
            ) from None

    @activity.defn(name="load_dealer_plan")
    async def load_dealer_plan(self, dealer_id: str) -> DealerPlan:
        return (
            self._dealer(dealer_id)
            .plan()
            .model_copy(update={"history_limit": self._config.temporal.history_limit})
        )

    @activity.defn(name="contact_keys")
    async def contact_keys(self, request: ContactKeysRequest) -> list[str]:
        """Hash the customer's identifiers with the dealer's secret, which stays out of
        workflow history."""
        return contact_keys(self._dealer(request.dealer_id).webhook_secret, request.identifiers)
