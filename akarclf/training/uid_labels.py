"""Checked reading of the hand-label fixtures: CSV files of uids and cluster labels.

The label audit and the second read keep their verdicts as ids and clusters only (the titles
stay in ``../shared/data``). Both need the same guarantees before any figure is computed from
them: the columns are there, every row has a uid that appears once, and every label is a
cluster; a bad file fails on its first bad row, naming the file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from akarclf.clusters import CLUSTERS


def read_uid_labels(
    path: str | Path,
    *,
    required: Sequence[str],
    labels: Sequence[str],
    optional: Sequence[str] = (),
    may_be_blank: Sequence[str] = (),
    error: type[ValueError] = ValueError,
    empty: str = "no rows",
    check: Callable[[Mapping[str, str]], str | None] | None = None,
) -> list[dict[str, str]]:
    """Rows of ``path`` as dicts of stripped strings, keyed by ``required`` and ``optional``.

    ``required`` columns must be in the header (``uid`` first); ``labels`` (a subset) must
    hold a cluster name, or be blank when listed in ``may_be_blank``; ``check``, when given,
    returns what else is wrong with a row (None: nothing). Raises ``error`` with ``path:line``
    for the first bad row, and ``empty`` when there are no rows at all.
    """
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise error(f"{path}: missing column(s) {', '.join(missing)}")
        rows: list[dict[str, str]] = []
        seen: dict[str, int] = {}
        for row in reader:
            where = f"{path}:{reader.line_num}"
            clean = {column: (row.get(column) or "").strip() for column in (*required, *optional)}
            uid = clean["uid"]
            if not uid:
                raise error(f"{where}: empty uid")
            if uid in seen:
                raise error(f"{where}: uid {uid!r} repeats line {seen[uid]}")
            seen[uid] = reader.line_num
            for column in labels:
                value = clean[column]
                if not value:
                    if column in may_be_blank:
                        continue
                    raise error(f"{where}: {column} is empty")
                if value not in CLUSTERS:
                    raise error(
                        f"{where}: {column} {value!r} is not a cluster; "
                        f"valid: {', '.join(CLUSTERS)}"
                    )
            problem = check(clean) if check is not None else None
            if problem:
                raise error(f"{where}: {problem}")
            rows.append(clean)
    if not rows:
        raise error(f"{path}: {empty}")
    return rows
