"""Per-row checks shared by the file readers and :func:`akarclf.scoring.score_records`.

A row that cannot be scored is not an error of the run: it becomes a :class:`Reject` (line
number, reason code, detail, raw text) and the run goes on. The reason codes are stable
strings that a rejects file can be grouped by.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Final

from akarclf.errors import AkarclfError

#: The record is not valid CSV (bad quoting, wrong number of fields).
MALFORMED_CSV: Final = "MALFORMED_CSV"
#: The line is not a JSON object.
BAD_JSON: Final = "BAD_JSON"
#: The bytes are not UTF-8 (or the JSON holds a lone surrogate that cannot be written back).
BAD_ENCODING: Final = "BAD_ENCODING"
#: No title value (column or key absent, null, NaN).
MISSING_TITLE: Final = "MISSING_TITLE"
#: A title made only of white space.
EMPTY_TITLE: Final = "EMPTY_TITLE"
#: A title value that is not text (a JSON number, list, ...).
BAD_TITLE: Final = "BAD_TITLE"
#: A cross-border value that is neither yes, no nor missing (``maybe``).
BAD_CROSS_BORDER: Final = "BAD_CROSS_BORDER"
#: A title longer than :data:`MAX_FIELD_CHARS`, or a CSV field longer than the csv limit.
FIELD_TOO_LONG: Final = "FIELD_TOO_LONG"
#: A record handed to :func:`akarclf.scoring.score_records` that is not a mapping.
BAD_RECORD: Final = "BAD_RECORD"
#: A JSON record that already has keys the scorer appends (``cluster``, ``decision``, ...).
OUTPUT_KEY_CLASH: Final = "OUTPUT_KEY_CLASH"

#: The longest title read, in characters: the default field limit of the :mod:`csv` reader
#: (:func:`csv.field_size_limit`), which keeps an unbalanced quote from swallowing the rest of a
#: file into one field. Titles in JSON Lines and records are held to it too, so a listing is
#: scored or rejected whatever format it arrives in.
MAX_FIELD_CHARS: Final = 131_072

#: Flag used for rows that have no cross-border column at all: treat them as cross-border,
#: the strictest reading, and say so in the run summary.
ASSUMED_CROSS_BORDER: Final = 1


@dataclass(frozen=True)
class Reject:
    """A row that was not scored: where it was, why, and its text as read."""

    line: int
    reason: str
    detail: str
    raw: str


class RowError(AkarclfError, ValueError):
    """Why one row cannot be scored; ``reason`` is one of this module's codes."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read_title(value: object, column: str) -> str:
    """The title of a row, or :class:`RowError` when it is missing, blank, too long or not
    text."""
    if isinstance(value, str):
        if len(value) > MAX_FIELD_CHARS:
            raise RowError(
                FIELD_TOO_LONG, f"{column} is {len(value)} characters; at most {MAX_FIELD_CHARS}"
            )
        if value and not value.isspace():
            return value
        raise RowError(EMPTY_TITLE, f"empty {column}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise RowError(MISSING_TITLE, f"missing {column}")
    raise RowError(BAD_TITLE, f"{column} is not text: {type(value).__name__} {value!r:.60}")


class FlagReader:
    """Reads cross-border cells through :func:`akarclf.gate.flags.parse_cross_border`, memoised.

    Catalogues use a handful of spellings (``1``, ``0``, ``true``, ``""``), so the parse of each
    spelling is remembered (up to :attr:`MEMO_SIZE` of them) and a row costs one dict look-up.
    """

    MEMO_SIZE: Final = 256

    def __init__(self, column: str) -> None:
        from akarclf.gate.flags import parse_cross_border

        self.column = column
        self._parse = parse_cross_border
        self._memo: dict[tuple[type, object], int] = {}

    def __call__(self, value: object) -> int:
        """The flag (1, 0 or UNKNOWN_FLAG) for ``value``, or :class:`RowError`."""
        key = (type(value), value)
        try:
            return self._memo[key]
        except (KeyError, TypeError):
            pass
        try:
            flag = int(self._parse(value))
        except (ValueError, TypeError) as error:
            raise RowError(
                BAD_CROSS_BORDER, f"unreadable {self.column} value {value!r:.60}"
            ) from error
        if len(self._memo) < self.MEMO_SIZE:
            with contextlib.suppress(TypeError):  # unhashable (a JSON list): not memoised
                self._memo[key] = flag
        return flag
