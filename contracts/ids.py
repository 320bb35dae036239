"""The formats of the ids other systems and operators see, written once in `leads.identity`
(pure functions of the domain) and named here as the contract:

- a lead: `lead-<dealer>-<keyed hash of the customer's best identifier>`;
- its tasks: `task-<lead>-<n>`;
- a touch's exactly-once key: `<lead>:<conversation>:<touch>:<channel>` (a salesperson's
  message: `…:m<number>:<channel>`);
- an erased customer's opt-out: `optout-<dealer>-<keyed hash>`;
- a lead's erasure: `erasure-<lead>`.

None holds personal data: the hashes are keyed with the dealer's secret.
"""

from __future__ import annotations

from leads.identity import (
    erasure_id,
    lead_id,
    lead_id_for_key,
    message_key,
    opt_out_id,
    parse_message_key,
    person_message_key,
    task_id,
)

__all__ = [
    "erasure_id",
    "lead_id",
    "lead_id_for_key",
    "message_key",
    "opt_out_id",
    "parse_message_key",
    "person_message_key",
    "task_id",
]
