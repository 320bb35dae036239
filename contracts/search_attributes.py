"""The search attributes (docs/temporal-interface.md): what operators filter on. None carries
personal data."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

DEALER_ID = SearchAttributeKey.for_keyword("DealerId")
LEAD_STATUS = SearchAttributeKey.for_keyword("LeadStatus")
LEAD_SOURCE = SearchAttributeKey.for_keyword("LeadSource")
LEAD_KIND = SearchAttributeKey.for_keyword("LeadKind")
TOUCH_COUNT = SearchAttributeKey.for_int("TouchCount")
NEXT_TOUCH_AT = SearchAttributeKey.for_datetime("NextTouchAt")
ASSIGNED_TO = SearchAttributeKey.for_keyword("AssignedTo")
TASK_STATUS = SearchAttributeKey.for_keyword("TaskStatus")
TASK_KIND = SearchAttributeKey.for_keyword("TaskKind")
# Keyed hashes of the customer's e-mail, phone and inquiry ids (leads.identity.contact_keys):
# how an inbound reply finds its lead. Hashes with the dealer's secret, not personal data.
CONTACT_KEYS = SearchAttributeKey.for_keyword_list("ContactKeys")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    DEALER_ID,
    LEAD_STATUS,
    LEAD_SOURCE,
    LEAD_KIND,
    TOUCH_COUNT,
    NEXT_TOUCH_AT,
    ASSIGNED_TO,
    TASK_STATUS,
    TASK_KIND,
    CONTACT_KEYS,
)
