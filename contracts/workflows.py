"""Workflow type names, as starters, children and operators call them (the classes live in
`workflows/`; code in another layer names them here instead of importing their modules).

Their inputs and results, and the signal, update and query payloads, are the domain's own
models (`leads.models`: `Lead`, `LeadState`, `CustomerReplied`, `TaskInput`, …); the erasure's
are in `contracts.erasure`.
"""

from __future__ import annotations

from typing import Final

LEAD_FOLLOW_UP: Final = "LeadFollowUp"
SALES_TASK: Final = "SalesTask"
OPT_OUT: Final = "OptOut"
ERASURE: Final = "Erasure"
SIGN_IN: Final = "SignIn"
