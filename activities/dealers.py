"""Reading the dealer's settings for a workflow (the config file stays out of workflow code)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from leads.config import Config, DealerPlan


class DealerActivities:
    def __init__(self, config: Config) -> None:
        self._config = config

    @activity.defn(name="load_dealer_plan")
    async def load_dealer_plan(self, dealer_id: str) -> DealerPlan:
        try:
            dealer = self._config.dealer(dealer_id)
        except KeyError:
            raise ApplicationError(
                f"unknown dealer {dealer_id!r}", type="UnknownDealer", non_retryable=True
            ) from None
        return dealer.plan().model_copy(
            update={"history_limit": self._config.temporal.history_limit}
        )
