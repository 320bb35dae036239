"""Reading the dealer's settings for a workflow (the config file stays out of workflow code)."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from leads.config import Config, Dealer, DealerPlan
from leads.identity import contact_identifiers, contact_keys, opt_out_id
from leads.models import Channel, Lead, Payload
from workflows.opt_out import MEMO_KEY


class ContactKeysRequest(Payload):
    dealer_id: str
    identifiers: list[str]


class OpenRequest(Payload):
    lead: Lead
    contact_keys: bool  # also hash the keys: the starter did not set them at start


class OpenedLead(Payload):
    """Everything a new lead needs before its first touch, from one local activity: one
    marker in its history, one round before the first answer."""

    plan: DealerPlan
    identifiers: list[str]  # what `refused` and `contact_keys` were found for
    refused: list[Channel]  # channels an erased earlier lead of this customer refused
    contact_keys: list[str] | None = None


class DealerActivities:
    def __init__(self, config: Config, client: Client | None = None) -> None:
        self._config = config
        self._client = client  # reads the OptOut workflows an erasure left behind

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

    @activity.defn(name="open_lead")
    async def open_lead(self, request: OpenRequest) -> OpenedLead:
        """The dealer's plan, the opt-outs an erased earlier lead left, and (when asked) the
        contact keys, for a lead's first conversation step (`load_dealer_plan`,
        `opted_out_channels` and `contact_keys` at once)."""
        lead = request.lead
        plan = await self.load_dealer_plan(lead.dealer_id or "")
        identifiers = contact_identifiers(
            lead.customer, [(lead.source, lead.external_id)], plan.country
        )
        keys = ContactKeysRequest(dealer_id=plan.dealer_id, identifiers=identifiers)
        return OpenedLead(
            plan=plan,
            identifiers=identifiers,
            refused=await self.opted_out_channels(keys),
            contact_keys=await self.contact_keys(keys) if request.contact_keys else None,
        )

    @activity.defn(name="contact_keys")
    async def contact_keys(self, request: ContactKeysRequest) -> list[str]:
        """Hash the customer's identifiers with the dealer's secret, which stays out of
        workflow history."""
        return contact_keys(self._dealer(request.dealer_id).webhook_secret, request.identifiers)

    @activity.defn(name="opted_out_channels")
    async def opted_out_channels(self, request: ContactKeysRequest) -> list[Channel]:
        """The channels an erased earlier lead of this customer refused (workflows.opt_out):
        one describe per e-mail address or phone number, by keyed hash."""
        if self._client is None:
            raise ApplicationError("no Temporal client to read opt-outs with", type="Setup")
        secret = self._dealer(request.dealer_id).webhook_secret
        ids = [
            opt_out_id(request.dealer_id, secret, identifier)
            for identifier in request.identifiers
            if identifier.startswith(("email:", "phone:"))
        ]
        found = await asyncio.gather(*(self._opt_out(workflow_id) for workflow_id in ids))
        return sorted({channel for channels in found for channel in channels})

    async def _opt_out(self, workflow_id: str) -> list[Channel]:
        assert self._client is not None
        try:
            described = await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return []
            raise
        channels: list[Channel] = await described.memo_value(
            MEMO_KEY, default=[], type_hint=list[Channel]
        )
        return channels
