"""When a lead looks its contact keys and opt-outs up again (rule 7: respect, and one
customer, one conversation).

`ContactKeys` (keyed hashes of the customer's addresses and inquiry ids) is how an inbound
reply finds its lead; the opt-outs an erased earlier lead of the same customer left are read
by the same identifiers. Both are looked up when the identifiers change (a merged inquiry
adds an address), never again for the same ones: the conversation keeps a fingerprint of the
identifiers it last looked up.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


def identifiers_fingerprint(identifiers: list[str]) -> str:
    """Which contact identifiers a lead's keys and opt-outs were last looked up for."""
    return hashlib.sha256(json.dumps(identifiers).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Lookups:
    fingerprint: str  # to keep once they are done
    hash_keys: bool  # hash the identifiers into ContactKeys (else: the starter set them)


def lookups_due(
    identifiers: list[str],
    looked_up: str | None,
    keys_set_at_start: bool,
    inquiries: int,
) -> Lookups | None:
    """What to look up for `identifiers`, given the fingerprint of the last look-up (None:
    never); None when nothing changed. The starter and the API set the keys of a lead's
    first inquiry at start; a workflow started otherwise (an operator's CLI), or holding
    merged inquiries, hashes them itself."""
    fingerprint = identifiers_fingerprint(identifiers)
    if fingerprint == looked_up:
        return None
    set_by_starter = looked_up is None and keys_set_at_start and inquiries == 1
    return Lookups(fingerprint=fingerprint, hash_keys=not set_by_starter)
