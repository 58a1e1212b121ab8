"""Read a labelled CSV (one title and its true cluster per row) for evaluation or training.

The expected shape is that of the gold development set (columns ``hid, source, title,
category_path, label, note``), but only the title and label columns are required and their
names are arguments. A hand-labelled file is easy to get subtly wrong, so every problem is
reported with the file name and the line number where the row starts, instead of being
skipped: a silently dropped row changes the measured figures.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from akarclf.clusters import CLUSTERS

#: Columns tried, in order, as row identifiers when no ``id_col`` is given.
ID_COLUMNS: tuple[str, ...] = ("hid", "id")


def _pick_id_column(header: Sequence[str], id_col: str | None, where: str) -> str | None:
    if id_col is not None:
        if id_col not in header:
            raise ValueError(f"{where}: no column {id_col!r}; columns are: {', '.join(header)}")
        return id_col
    return next((name for name in ID_COLUMNS if name in header), None)


def read_labelled_csv(
    path: str | PathLike[str],
    title_col: str = "title",
    label_col: str = "label",
    id_col: str | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Return ``(titles, labels, ids)`` from a UTF-8 CSV file with a header row.

    ``labels`` must be cluster ids from :data:`~akarclf.clusters.CLUSTERS` (surrounding
    spaces are ignored); titles must be non-empty. ``ids`` come from ``id_col`` if given, else
    from the first of :data:`ID_COLUMNS` the file has, else they are the line numbers (as
    strings) where the rows start, so a caller can always point back at a row.

    Raises FileNotFoundError for a missing file and ValueError naming the file and column
    (missing column) or the file and line (empty title, unknown or empty label, short row,
    no data rows).
    """
    file = Path(path)
    where = str(file)
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            return _read_rows(reader, where, title_col, label_col, id_col)
        except csv.Error as error:
            raise ValueError(f"{where} line {reader.line_num}: malformed CSV: {error}") from None
        except UnicodeDecodeError as error:
            raise ValueError(f"{where}: not UTF-8 text ({error})") from None


def _read_rows(
    reader: Any,
    where: str,
    title_col: str,
    label_col: str,
    id_col: str | None,
) -> tuple[list[str], list[str], list[str]]:
    """Parse the rows of an open CSV reader; see :func:`read_labelled_csv`."""
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{where}: empty file, expected a header row")
    header = [name.strip() for name in header]
    for name in (title_col, label_col):
        if name not in header:
            raise ValueError(f"{where}: no column {name!r}; columns are: {', '.join(header)}")
    id_name = _pick_id_column(header, id_col, where)
    title_index = header.index(title_col)
    label_index = header.index(label_col)
    id_index = header.index(id_name) if id_name is not None else None
    needed = max(title_index, label_index, id_index if id_index is not None else 0)

    titles: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    start = reader.line_num + 1
    for row in reader:
        line = f"{where} line {start}"
        if not any(cell.strip() for cell in row):
            start = reader.line_num + 1
            continue  # blank line
        if len(row) <= needed:
            raise ValueError(f"{line}: {len(row)} fields, fewer than the header's {len(header)}")
        title = row[title_index]
        label = row[label_index].strip()
        if not title.strip():
            raise ValueError(f"{line}: empty {title_col!r}")
        if not label:
            raise ValueError(f"{line}: empty {label_col!r}")
        if label not in CLUSTERS:
            raise ValueError(
                f"{line}: unknown {label_col!r} value {label!r}; "
                f"valid clusters: {', '.join(CLUSTERS)}"
            )
        titles.append(title)
        labels.append(label)
        ids.append(row[id_index] if id_index is not None else str(start))
        start = reader.line_num + 1
    if not titles:
        raise ValueError(f"{where}: no data rows")
    return titles, labels, ids
