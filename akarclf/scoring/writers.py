"""Write scored rows and rejects: text formatting per chunk, and files that appear only whole.

Output goes to a temporary file beside the target and is renamed over it at the end, so an
interrupted run never leaves a partial file under the output name. Formatting a chunk into one
string is separate from writing it, so worker processes can do the formatting. The targets are
checked before a run starts (:func:`check_targets`): a run never writes over its own input.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final

import numpy as np

from akarclf.scoring.core import FLOAT_COLUMNS
from akarclf.scoring.readers import UsageError
from akarclf.scoring.rows import MAX_FIELD_CHARS, Reject

#: Decimal places written for probabilities and confidence.
FLOAT_DECIMALS: Final = 6

#: Columns of the rejects file.
REJECT_COLUMNS: Final = ("line", "reason", "detail", "raw")

_GZIP_LEVEL: Final = 6


_CSV_SPECIAL: Final = re.compile(r'[",\r\n]')


def _csv_cell(value: str) -> str:
    """``value`` as one CSV cell, quoted when it holds a comma, a quote, a CR or a LF (the
    :mod:`csv` writer leaves a bare CR unquoted when its line terminator is ``\\n``)."""
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
    """One CSV line of text cells: the output's header, or a row of the rejects file."""
    return ",".join(map(_csv_cell, columns)) + "\n"


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


def check_targets(output: str | Path, rejects: str | Path, sources: Mapping[str, object]) -> None:
    """Refuse, before any work, an output or rejects path that would destroy one of
    ``sources`` (name -> path; objects other than paths are skipped), that is a directory or a
    device, or whose directory does not exist or cannot be written to. Raises
    :class:`UsageError` naming the path."""
    targets = {"output": output, "rejects file": rejects}
    for name, target in targets.items():
        if str(target) == "-":
            continue
        path = Path(target)
        if path.is_dir():
            raise UsageError(f"{name} {target} is a directory; give a file path")
        if path.exists() and not path.is_file():
            raise UsageError(
                f"{name} {target} is not a regular file (a device, FIFO or socket); "
                "it is replaced by a file written beside it, so give a file path "
                "(or -o - to write to standard output)"
            )
        folder = path.parent
        if not folder.is_dir():
            raise UsageError(f"{name} {target}: directory {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            hint = "; name another with --rejects" if name == "rejects file" else ""
            raise UsageError(f"{name} {target}: directory {folder} is not writable{hint}")
        for source_name, source in sources.items():
            if (
                isinstance(source, (str, Path))
                and str(source) != "-"
                and _same_file(path, Path(source))
            ):
                raise UsageError(
                    f"{name} {target} is the {source_name} file; writing it would destroy it"
                )
    if str(output) != "-" and _same_file(Path(output), Path(rejects)):
        raise UsageError(f"the rejects file {rejects} must not be the output file")


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (also through links), existing or not."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicTextFile:
    """A UTF-8 text file written under a temporary name and renamed into place by :meth:`commit`.

    ``-`` writes to standard output directly. A name ending in ``.gz`` is gzip-compressed.
    Leaving the ``with`` block without :meth:`commit` (an exception, Ctrl-C) deletes the
    temporary file, so the target is either untouched or complete. :meth:`finish` writes
    everything out without renaming, so that several files can be finished (the step that fails
    on a full disk) before any of them is committed.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._tmp: str | None = None
        self._raw: IO[bytes] | None = None
        self._gzip: gzip.GzipFile | None = None
        self._finished = False
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

    def write(self, text: str) -> None:
        self.stream.write(text)

    def finish(self) -> None:
        """Flush and close (standard output: flush); the target is untouched until
        :meth:`commit`."""
        if self._finished:
            return
        if self._tmp is None:
            self.stream.flush()
            if isinstance(self.stream, io.TextIOWrapper):
                self.stream.detach()
        else:
            self.stream.close()  # closes the gzip member and the raw file too
        self._finished = True

    def commit(self) -> None:
        """:meth:`finish`, then rename the temporary file over the target."""
        self.finish()
        if self._tmp is not None:
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


def _cut(raw: str) -> str:
    """``raw`` cut to fit in one field of any CSV reader (:data:`MAX_FIELD_CHARS`), saying so."""
    if len(raw) <= MAX_FIELD_CHARS:
        return raw
    note = f" ... [cut: {len(raw):,} characters]"
    return raw[: MAX_FIELD_CHARS - len(note)] + note


class RejectsFile(AtomicTextFile):
    """The rejects CSV (``line,reason,detail,raw``), written atomically like the output.

    A raw text longer than :data:`~akarclf.scoring.rows.MAX_FIELD_CHARS` is cut (the line
    number finds the rest in the input), so that Python's :mod:`csv` reads the file back."""

    def __init__(self, path: str | Path) -> None:
        if str(path) == "-":
            raise ValueError("the rejects file cannot be standard output")
        super().__init__(path)
        self.stream.write(csv_header(REJECT_COLUMNS))
        self.count = 0

    def __enter__(self) -> RejectsFile:
        return self

    def add(self, reject: Reject) -> None:
        raw = _cut(reject.raw)
        self.stream.write(csv_header((str(reject.line), reject.reason, reject.detail, raw)))
        self.count += 1
