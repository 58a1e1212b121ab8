"""The gate's decisions and reason codes: plain constants, cheap to import.

Reports and monitors that read score outputs need the vocabulary of the gate without loading
the classifier; :mod:`akarclf.gate.decision` explains when each code applies.
"""

from __future__ import annotations

from typing import Final

from akarclf.gate.policy import ACTIONS

#: Possible decisions, strictest first (the same strings as the policy's actions).
DECISIONS: Final[tuple[str, ...]] = ACTIONS

PROTECTED_CLUSTER: Final = "PROTECTED_CLUSTER"
UNCERTAIN: Final = "UNCERTAIN"
NOT_PROTECTED: Final = "NOT_PROTECTED"
DOMESTIC_SELLER: Final = "DOMESTIC_SELLER"
UNKNOWN_SELLER: Final = "UNKNOWN_SELLER"
EMPTY_TITLE: Final = "EMPTY_TITLE"
PROTECTED_SEGMENT: Final = "PROTECTED_SEGMENT"
LONG_TITLE: Final = "LONG_TITLE"
UNREADABLE_TITLE: Final = "UNREADABLE_TITLE"
OBFUSCATED_TITLE: Final = "OBFUSCATED_TITLE"

#: Every reason code, in the order of the precedence above (thresholds last).
REASONS: Final[tuple[str, ...]] = (
    DOMESTIC_SELLER,
    UNKNOWN_SELLER,
    EMPTY_TITLE,
    PROTECTED_CLUSTER,
    PROTECTED_SEGMENT,
    LONG_TITLE,
    UNREADABLE_TITLE,
    OBFUSCATED_TITLE,
    UNCERTAIN,
    NOT_PROTECTED,
)
