"""Write scored rows and rejects: text formatting per chunk, and files that appear only whole.

Output goes to a temporary file beside the target and is renamed over it at the end, so an
interrupted run never leaves a partial file under the output name. Formatting a chunk into one
string is separate from writing it, so worker processes can do the formatting.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final

import numpy as np

from akarclf.scoring.core import FLOAT_COLUMNS
from akarclf.scoring.rows import Reject

#: Decimal places written for probabilities and confidence.
FLOAT_DECIMALS: Final = 6

#: Columns of the rejects file.
REJECT_COLUMNS: Final = ("line", "reason", "detail", "raw")

_GZIP_LEVEL: Final = 6


_CSV_SPECIAL: Final = re.compile(r'[",\r\n]')


def _csv_cell(value: str) -> str:
    """``value`` as one CSV cell (quoted only when it must be)."""
    if _CSV_SPECIAL.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cells(values: np.ndarray, name: str, encode: Callable[[str], str]) -> list[str]:
    """Text of one output column: floats with fixed decimals, strings through ``encode``.

    Text columns have few distinct values (clusters, decisions, versions), so each distinct
    value is encoded once.
    """
    if name in FLOAT_COLUMNS:
        return _unit_interval_text(values)
    texts: list[str] = values.tolist()
    encoded = {value: encode(value) for value in set(texts)}
    return [encoded[value] for value in texts]


def _unit_interval_text(values: np.ndarray) -> list[str]:
    """``f"{x:.6f}"`` of each value, digits built by numpy when all are within [0, 1]
    (probabilities always are): formatting floats one by one is a tenth of a run's time."""
    values = np.asarray(values, dtype=np.float64)
    inside = (values >= 0.0) & (values <= 1.0) & ~np.signbit(values)
    if not len(values) or not inside.all():
        return [f"{x:.{FLOAT_DECIMALS}f}" for x in values.tolist()]
    raw = values * 10**FLOAT_DECIMALS
    scaled = np.rint(raw)
    # Near a tie the product's rounding error decides; there Python's exact rounding does.
    near_tie = np.flatnonzero(np.abs(raw - np.floor(raw) - 0.5) < 1e-6)
    units = scaled.astype(np.int64)
    width = FLOAT_DECIMALS + 2
    text = np.empty((len(values), width), dtype=np.uint8)
    text[:, 0] = ord("0") + units // 10**FLOAT_DECIMALS
    text[:, 1] = ord(".")
    rest = units % 10**FLOAT_DECIMALS
    for column in range(width - 1, 1, -1):
        text[:, column] = ord("0") + rest % 10
        rest //= 10
    joined = text.tobytes().decode("ascii")
    cells = [joined[i : i + width] for i in range(0, len(joined), width)]
    for i in near_tie.tolist():
        cells[i] = f"{values[i]:.{FLOAT_DECIMALS}f}"
    return cells


def format_csv_rows(
    lines: Sequence[str], columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> str:
    """CSV text: each input record (its text as read) with the output ``columns`` appended."""
    tails = map(",".join, zip(*(_cells(columns[n], n, _csv_cell) for n in names), strict=True))
    return "".join([f"{line},{tail}\n" for line, tail in zip(lines, tails, strict=True)])


def csv_header(columns: Sequence[str]) -> str:
    """One CSV header line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue()


def format_jsonl_rows(
    lines: Sequence[str], columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> str:
    """JSON Lines text: each input object (its text as read) with the output keys appended.

    The input's keys, values and spacing are kept as written; the new keys go before the
    closing brace.
    """
    keys = [_json_string(name) + ": " for name in names]
    cells = [
        [key + cell for cell in _cells(columns[n], n, _json_string)]
        for key, n in zip(keys, names, strict=True)
    ]
    tails = map(", ".join, zip(*cells, strict=True))
    out = []
    for line, tail in zip(lines, tails, strict=True):
        body = line.rstrip()[:-1].rstrip()  # drop the closing brace
        separator = "" if body.endswith("{") else ", "
        out.append(f"{body}{separator}{tail}}}\n")
    return "".join(out)


def default_rejects_path(output: str | Path) -> Path:
    """``OUTPUT.rejects.csv``; ``stdout.rejects.csv`` in the working directory for ``-``."""
    return Path("stdout.rejects.csv" if str(output) == "-" else f"{output}.rejects.csv")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicTextFile:
    """A UTF-8 text file written under a temporary name and renamed into place by :meth:`commit`.

    ``-`` writes to standard output directly. A name ending in ``.gz`` is gzip-compressed.
    Leaving the ``with`` block without :meth:`commit` (an exception, Ctrl-C) deletes the
    temporary file, so the target is either untouched or complete.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._tmp: str | None = None
        self._raw: IO[bytes] | None = None
        self._gzip: gzip.GzipFile | None = None
        self.stream: IO[str]
        if self.path == "-":
            self.stream = io.TextIOWrapper(
                sys.stdout.buffer, encoding="utf-8", newline="", write_through=False
            )
            return
        target = Path(self.path)
        fd, self._tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent or "."
        )
        os.chmod(self._tmp, 0o666 & ~_umask())
        self._raw = os.fdopen(fd, "wb")
        binary: IO[bytes] | gzip.GzipFile = self._raw
        if self.path.endswith(".gz"):
            self._gzip = gzip.GzipFile(
                filename=target.name[:-3], mode="wb", fileobj=self._raw, compresslevel=_GZIP_LEVEL
            )
            binary = self._gzip
        self.stream = io.TextIOWrapper(binary, encoding="utf-8", newline="")

    @property
    def temporary_path(self) -> str | None:
        """Where the data is being written until :meth:`commit` (None for stdout)."""
        return self._tmp

    def write(self, text: str) -> None:
        self.stream.write(text)

    def commit(self) -> None:
        """Flush, close and rename the temporary file over the target."""
        if self._tmp is None:
            self.stream.flush()
            if isinstance(self.stream, io.TextIOWrapper):
                self.stream.detach()
            return
        self.stream.close()  # closes the gzip member and the raw file too
        os.replace(self._tmp, self.path)
        self._tmp = None

    def discard(self) -> None:
        """Close and delete the temporary file (no-op after :meth:`commit`)."""
        if self._tmp is None:
            if self.path == "-" and isinstance(self.stream, io.TextIOWrapper):
                with contextlib.suppress(ValueError, OSError):
                    self.stream.flush()
                    self.stream.detach()
            return
        with contextlib.suppress(ValueError, OSError):
            self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)
        self._tmp = None

    def __enter__(self) -> AtomicTextFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


class RejectsFile(AtomicTextFile):
    """The rejects CSV (``line,reason,detail,raw``), written atomically like the output."""

    def __init__(self, path: str | Path) -> None:
        if str(path) == "-":
            raise ValueError("the rejects file cannot be standard output")
        super().__init__(path)
        self._writer = csv.writer(self.stream, lineterminator="\n")
        self._writer.writerow(REJECT_COLUMNS)
        self.count = 0

    def __enter__(self) -> RejectsFile:
        return self

    def add(self, reject: Reject) -> None:
        self._writer.writerow((reject.line, reject.reason, reject.detail, reject.raw))
        self.count += 1

    def add_all(self, rejects: Iterable[Reject]) -> None:
        for reject in rejects:
            self.add(reject)
