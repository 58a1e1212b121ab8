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
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import numpy as np

from akarclf.batch.core import FLOAT_COLUMNS
from akarclf.batch.rows import Reject

#: Decimal places written for probabilities and confidence.
FLOAT_DECIMALS: Final = 6

#: Columns of the rejects file.
REJECT_COLUMNS: Final = ("line", "reason", "detail", "raw")

_GZIP_LEVEL: Final = 6


def _cell_texts(values: np.ndarray, name: str) -> list[str]:
    if name in FLOAT_COLUMNS:
        return [f"{x:.{FLOAT_DECIMALS}f}" for x in values.tolist()]
    return values.tolist()  # type: ignore[no-any-return]


def _json_values(values: np.ndarray, name: str) -> list[Any]:
    if name in FLOAT_COLUMNS:
        return np.round(values, FLOAT_DECIMALS).tolist()  # type: ignore[no-any-return]
    return values.tolist()  # type: ignore[no-any-return]


def format_csv_rows(
    rows: Sequence[list[str]], columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> str:
    """CSV text of ``rows`` (input fields as read) with the output ``columns`` appended."""
    extra = [_cell_texts(columns[name], name) for name in names]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(
        [row + list(out) for row, out in zip(rows, zip(*extra, strict=True), strict=True)]
    )
    return buffer.getvalue()


def csv_header(columns: Sequence[str]) -> str:
    """One CSV header line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue()


_JSON = json.JSONEncoder(ensure_ascii=False)


def format_jsonl_rows(
    records: Sequence[Mapping[str, Any]], columns: Mapping[str, np.ndarray], names: Sequence[str]
) -> str:
    """JSON Lines text of ``records`` (keys kept in order) with the output keys appended."""
    extra = [_json_values(columns[name], name) for name in names]
    encode = _JSON.encode
    lines = []
    for record, out in zip(records, zip(*extra, strict=True), strict=True):
        merged = dict(record)
        merged.update(zip(names, out, strict=True))
        lines.append(encode(merged))
    return "\n".join(lines) + "\n" if lines else ""


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
