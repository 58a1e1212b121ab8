"""Read the seller's cross-border flag from whatever a caller or a CSV file hands us.

Flags arrive as Python bools, numpy arrays, ``0``/``1`` columns (floats once pandas meets a
missing value) or text in English or Indonesian. They are folded into three integer codes so
the gate can work on one ``int8`` array: ``1`` cross-border, ``0`` domestic and
:data:`UNKNOWN_FLAG` for a value that is missing (``None``, NaN, empty string). A value that is
present but unreadable (``"maybe"``, ``2``) is an error naming its position: guessing would
decide a restriction on a typo.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Set
from typing import Final

import numpy as np

#: Code for a missing flag; the policy says what happens to such listings.
UNKNOWN_FLAG: Final = -1
CROSS_BORDER: Final = 1
DOMESTIC: Final = 0

#: Accepted spellings, compared after stripping and case folding.
TRUE_SPELLINGS: Final = frozenset({"true", "t", "1", "1.0", "yes", "y", "ya"})
FALSE_SPELLINGS: Final = frozenset({"false", "f", "0", "0.0", "no", "n", "tidak"})

_SPELLINGS: Final = {
    **{word: CROSS_BORDER for word in TRUE_SPELLINGS},
    **{word: DOMESTIC for word in FALSE_SPELLINGS},
}
_EXPECTED: Final = "expected a bool, 1/0, true/false, yes/no or ya/tidak (empty or None if unknown)"


def _unreadable(value: object, position: int | None) -> ValueError:
    where = "cross_border flag" if position is None else f"cross_border flag at position {position}"
    return ValueError(f"{where} is not readable: {value!r:.60} ({_EXPECTED})")


def is_missing(value: object) -> bool:
    """Whether ``value`` is a missing flag: None, NaN or ``pandas.NA``."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    # pandas.NA without importing pandas.
    return type(value).__name__ == "NAType"


def parse_cross_border(value: object, position: int | None = None) -> int:
    """Code of one flag: ``1`` cross-border, ``0`` domestic, :data:`UNKNOWN_FLAG` if missing.

    Accepts bools (also numpy's), the integers 0 and 1, the floats 0.0 and 1.0, and the
    strings in :data:`TRUE_SPELLINGS` / :data:`FALSE_SPELLINGS` in any case, with surrounding
    spaces. ``None``, NaN, ``pandas.NA`` and empty or blank strings are missing. Anything else
    raises ``ValueError`` naming ``position`` (when given) and the value.
    """
    if isinstance(value, (bool, np.bool_)):
        return CROSS_BORDER if value else DOMESTIC
    if is_missing(value):
        return UNKNOWN_FLAG
    if isinstance(value, (int, np.integer, float, np.floating)):
        if value == 1:
            return CROSS_BORDER
        if value == 0:
            return DOMESTIC
        raise _unreadable(value, position)
    if isinstance(value, str):
        word = value.strip().casefold()
        if not word:
            return UNKNOWN_FLAG
        code = _SPELLINGS.get(word)
        if code is not None:
            return code
    raise _unreadable(value, position)


def check_ordered(values: object, name: str) -> Iterable[object]:
    """``values`` when it is an ordered one-dimensional collection (a list, tuple, array, Series,
    iterator); else a ``TypeError`` saying what to pass.

    Answers are matched to inputs by position, so a set (no order), a mapping, a 2-d array or
    DataFrame (iterating gives its rows or column names) and bytes (iterating gives integers)
    are refused rather than read in some order.
    """
    kind = type(values).__name__
    if isinstance(values, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be text, not {kind}: decode it first (.decode('utf-8'))")
    if isinstance(values, (Set, Mapping)):
        raise TypeError(
            f"{name} must be an ordered sequence (list, tuple, array, Series), not a {kind}: "
            "results are matched to inputs by position"
        )
    if not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence (list, tuple, array, Series), got {kind}")
    ndim = getattr(values, "ndim", 1)
    if ndim != 1:
        raise TypeError(
            f"{name} must be one-dimensional, got a {ndim}-d {kind}: pass one column "
            "(e.g. frame['title'])"
        )
    return values


def _as_array(values: Iterable[object]) -> np.ndarray:
    """An array of ``values`` without numpy's coercion of mixed lists to text (``nan`` ->
    ``"nan"``): bool/number-only lists become numeric arrays, anything else an object array."""
    items = list(values)
    if all(type(v) in (bool, int, float) for v in items):
        return np.asarray(items)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def parse_cross_border_many(values: Iterable[object] | np.ndarray) -> np.ndarray:
    """Codes of a sequence of flags as an ``int8`` array (see :func:`parse_cross_border`).

    Raises ``ValueError`` on the first unreadable value, naming its position. Numeric and bool
    arrays are converted without a Python loop; text is parsed once per distinct value.
    """
    if isinstance(values, str):
        raise TypeError("cross_border must be a sequence of flags, not a single string")
    check_ordered(values, "cross_border")
    array = values if isinstance(values, np.ndarray) else _as_array(values)
    if array.ndim != 1:
        raise ValueError(f"cross_border must be one-dimensional, got shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.int8)
    if array.dtype.kind in "iuf":
        missing = np.isnan(array) if array.dtype.kind == "f" else np.zeros(len(array), bool)
        bad = ~missing & (array != 0) & (array != 1)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise _unreadable(array[first].item(), first)
        codes = np.where(missing, UNKNOWN_FLAG, array == 1)
        return codes.astype(np.int8)
    codes = np.empty(len(array), dtype=np.int8)
    seen: dict[tuple[type, object], int] = {}
    for position, value in enumerate(array.tolist()):
        key = (type(value), value)
        try:
            code = seen.get(key)
        except TypeError:  # unhashable: the parser names the position
            code = parse_cross_border(value, position)
        if code is None:
            code = seen[key] = parse_cross_border(value, position)
        codes[position] = code
    return codes
