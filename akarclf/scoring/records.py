"""``score_records``: score an iterable of mappings lazily, for notebooks and services.

The same per-row checks and the same :func:`~akarclf.scoring.core.score_columns` as
``akarclf score``, without files: records are gathered into chunks, scored, and yielded one by
one as new dicts (the record's keys in order, then the output columns).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akarclf.errors import AkarclfError
from akarclf.scoring.core import Model, output_columns, score_columns
from akarclf.scoring.readers import Chunk, RowReader
from akarclf.scoring.rows import (
    ASSUMED_CROSS_BORDER,
    BAD_RECORD,
    OUTPUT_KEY_CLASH,
    FlagReader,
    Reject,
    RowError,
    read_title,
)
from akarclf.scoring.runner import DEFAULT_CHUNK_SIZE
from akarclf.scoring.workers import load_model

if TYPE_CHECKING:
    from akarclf.gate.policy import Policy


class RejectedRecordError(AkarclfError, ValueError):
    """A record that cannot be scored, when no ``on_reject`` callback was given."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(f"record {reject.line}: {reject.reason}: {reject.detail}")
        self.reject = reject


class _RecordReader(RowReader):
    def __init__(
        self,
        records: Iterable[Mapping[str, Any]],
        title_col: str,
        flag_col: str,
        reserved: Iterable[str],
    ) -> None:
        super().__init__()
        self._records_in = records
        self._title_col = title_col
        self._flag_col = flag_col
        self._reserved = frozenset(reserved)

    def _records(self) -> Iterator[tuple[int, Any, str, int] | Reject]:
        read_flag = FlagReader(self._flag_col)
        for number, record in enumerate(self._records_in, start=1):
            try:
                if not isinstance(record, Mapping):
                    raise RowError(BAD_RECORD, f"not a mapping but {type(record).__name__}")
                if not self._reserved.isdisjoint(record):
                    clash = ", ".join(str(k) for k in record if k in self._reserved)
                    raise RowError(OUTPUT_KEY_CLASH, f"record already has output key(s) {clash}")
                title = read_title(record.get(self._title_col), self._title_col)
                if self._flag_col in record:
                    flag = read_flag(record[self._flag_col])
                else:
                    flag = ASSUMED_CROSS_BORDER
                    self.stats.assumed_cross_border += 1
            except RowError as error:
                yield Reject(number, error.reason, error.detail, _raw(record))
                continue
            yield number, record, title, flag


def _raw(record: object) -> str:
    try:
        return json.dumps(record, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return f"<{type(record).__name__} that cannot be shown>"


def score_records(
    records: Iterable[Mapping[str, Any]],
    *,
    model: Model | str | Path | None = None,
    policy: Policy | str | Path | None = None,
    on: date | None = None,
    title_col: str = "title",
    cross_border_col: str = "cross_border",
    explain: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_reject: Callable[[Reject], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Score ``records`` (mappings with a title and a cross-border flag), yielding new dicts.

    Each yielded dict holds the record's keys and values, then the output columns of
    ``akarclf score`` (floats at full precision). A record without the
    ``cross_border_col`` key is treated as cross-border; ``None`` or ``""`` there is an
    unknown seller. A record that cannot be scored (missing or empty title, unreadable flag)
    is passed to ``on_reject`` as a :class:`~akarclf.scoring.rows.Reject` whose ``line`` is the
    1-based record number, or raises :class:`RejectedRecordError` when ``on_reject`` is None.
    Records are read lazily, ``chunk_size`` at a time.
    """
    from akarclf.gate.policy import load_policy

    model_obj = model if model is not None and not isinstance(model, (str, Path)) else None
    if model_obj is None:
        model_obj = load_model(model)  # type: ignore[arg-type]
    policy_obj = policy if policy is not None and not isinstance(policy, (str, Path)) else None
    if policy_obj is None:
        policy_obj = load_policy(policy)  # type: ignore[arg-type]
    names = output_columns(explain)

    def reject(item: Reject) -> None:
        if on_reject is None:
            raise RejectedRecordError(item)
        on_reject(item)

    reader = _RecordReader(records, title_col, cross_border_col, names)
    chunk: Chunk
    for chunk in reader.chunks(chunk_size, reject):
        columns = score_columns(
            chunk.titles, chunk.flags, model=model_obj, policy=policy_obj, on=on, explain=explain
        )
        values = [columns[name].tolist() for name in names]
        for record, out in zip(chunk.rows, zip(*values, strict=True), strict=True):
            merged = dict(record)
            merged.update(zip(names, out, strict=True))
            yield merged
