"""Reading the dealer's settings for a workflow (the config file stays out of workflow code)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.sending import SendingActivities
from contracts import activities as names
from contracts.activities import ContactKeysRequest, FirstTouch, OpenedLead, OpenRequest
from contracts.errors import UNKNOWN_DEALER
from contracts.memo import OPT_OUT_CHANNELS
from contracts.touches import opened_conversation, recorded_figures, touch_request
from leads.config import Config, Dealer, DealerPlan
from leads.conversation import TouchDue
from leads.identity import contact_identifiers, contact_keys, opt_out_id
from leads.models import Channel


def known_dealer(config: Config, dealer_id: str) -> Dealer:
    """The dealer an activity was asked about; one the config file does not have fails the
    activity for good (no retry can make it known)."""
    try:
        return config.dealer(dealer_id)
    except KeyError:
        raise ApplicationError(
            f"unknown dealer {dealer_id!r}", type=UNKNOWN_DEALER, non_retryable=True
        ) from None


class DealerActivities:
    def __init__(
        self,
        config: Config,
        client: Client | None = None,
        sending: SendingActivities | None = None,
    ) -> None:
        self._config = config
        self._client = client  # reads the OptOut workflows an erasure left behind
        self._sending = sending  # the first answer, when the lead asks for it at opening

    @activity.defn(name=names.LOAD_DEALER_PLAN)
    async def load_dealer_plan(self, dealer_id: str) -> DealerPlan:
        return (
            known_dealer(self._config, dealer_id)
            .plan(datetime.now(UTC).date())
            .model_copy(update={"history_limit": self._config.temporal.history_limit})
        )

    @activity.defn(name=names.OPEN_LEAD)
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
        opened = OpenedLead(
            plan=plan,
            identifiers=identifiers,
            refused=await self.opted_out_channels(keys),
            contact_keys=await self.contact_keys(keys) if request.contact_keys else None,
        )
        opened.first = await self._first_touch(request, opened)
        return opened

    async def _first_touch(self, request: OpenRequest, opened: OpenedLead) -> FirstTouch | None:
        """The lead's first step, taken here as the lead would take it at `answer_at` (the
        same plan, opt-outs and time, the same code): one local activity for the opening and
        the first answer. Only a written touch that is due goes out; anything else (a task,
        a wait, a send that failed for a reason worth retrying) the lead does itself."""
        now, lead_id, conversation = request.answer_at, request.lead_id, request.conversation
        if self._sending is None or now is None or lead_id is None or conversation is None:
            return None
        c, _ = opened_conversation(lead_id, request.lead, opened, now)
        step = c.next_step()
        if not isinstance(step, TouchDue) or step.at > now:
            return None
        if step.channel is None or not step.channel.written:
            return None
        send = touch_request(c, step, conversation, now, figures=True)
        attempt = await self._sending.attempt(send)
        if attempt is None:
            return None
        recorded = recorded_figures(send, attempt.sent) if attempt.sent is not None else None
        return FirstTouch(
            number=step.number, channel=step.channel, attempt=attempt, recorded=recorded
        )

    @activity.defn(name=names.CONTACT_KEYS)
    async def contact_keys(self, request: ContactKeysRequest) -> list[str]:
        """Hash the customer's identifiers with the dealer's secret, which stays out of
        workflow history."""
        return contact_keys(
            known_dealer(self._config, request.dealer_id).webhook_secret, request.identifiers
        )

    @activity.defn(name=names.OPTED_OUT_CHANNELS)
    async def opted_out_channels(self, request: ContactKeysRequest) -> list[Channel]:
        """The channels an erased earlier lead of this customer refused (workflows.opt_out):
        one describe per e-mail address or phone number, by keyed hash."""
        if self._client is None:
            raise ApplicationError("no Temporal client to read opt-outs with", type="Setup")
        secret = known_dealer(self._config, request.dealer_id).webhook_secret
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
            OPT_OUT_CHANNELS, default=[], type_hint=list[Channel]
        )
        return channels
