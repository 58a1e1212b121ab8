"""Stream listings from CSV or JSONL, in chunks, turning every unreadable row into a reject.

Input is read as bytes, one physical line at a time, so that each line keeps its number and
its raw bytes: a record that fails (bad quoting, wrong field count, invalid UTF-8, empty
title, unreadable cross-border value) is reported with the physical line where it starts and
its text as read, and reading goes on with the next record. Only the current chunk is held
in memory. A file that cannot be read at all (no header, a directory, corrupt gzip data) is an
:class:`InputError` naming it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from akarclf.errors import AkarclfError
from akarclf.scoring.rows import (
    ASSUMED_CROSS_BORDER,
    BAD_ENCODING,
    BAD_JSON,
    FIELD_TOO_LONG,
    MALFORMED_CSV,
    OUTPUT_KEY_CLASH,
    FlagReader,
    Reject,
    RowError,
    read_title,
)

#: Input and output formats.
FORMATS: Final = ("csv", "jsonl")

_EXTENSIONS: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_GZIP_MAGIC: Final = b"\x1f\x8b"
_BOM: Final = "\ufeff"
#: What :mod:`csv` says when a field passes :func:`csv.field_size_limit`.
_FIELD_LIMIT_ERROR: Final = "field larger than field limit"

RejectSink = Callable[[Reject], None]


class UsageError(AkarclfError, ValueError):
    """The command was called wrongly (unknown column, bad format, clashing names)."""


class InputError(AkarclfError, ValueError):
    """The input cannot be read at all (no header, unreadable header, corrupt gzip data)."""


def check_input(path: str | Path) -> None:
    """Refuse an input path that names nothing or a directory, before any work starts.

    Anything else that can be opened is read as a stream: a regular file, but also a FIFO or
    ``/dev/stdin`` (``akarclf score <(zcat part-*.gz)`` hands the command a pipe).
    """
    if str(path) == "-":
        return
    if Path(path).is_dir():
        raise UsageError(f"input {path} is a directory, not a file")
    if not Path(path).exists():
        raise UsageError(f"input file not found: {path}")


def format_for(path: str | Path, explicit: str | None = None) -> str | None:
    """The format named by ``explicit`` or by the file's extension (``.gz`` ignored); else None."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise UsageError(f"unknown format {explicit!r}; choose one of {', '.join(FORMATS)}")
        return explicit
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _EXTENSIONS.get(Path(name).suffix)


@contextmanager
def open_input(path: str | Path) -> Iterator[IO[bytes]]:
    """Binary stream of ``path`` (``-`` = stdin), gunzipped when it starts with the gzip magic."""
    if str(path) == "-":
        raw: IO[bytes] = sys.stdin.buffer
        close = False
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as error:
            raise InputError(f"{path}: cannot be read: {error.strerror or error}") from None
        close = True
    try:
        buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
        if buffered.peek(2)[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=buffered, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield buffered
    finally:
        if close:
            raw.close()


@dataclass
class Chunk:
    """Rows ready to score: their text as read (for files; records for ``score_records``),
    titles and cross-border flags."""

    rows: list[Any]
    titles: list[str]
    flags: np.ndarray
    first_line: int


@dataclass
class ReadStats:
    """What a reader saw: rows read (scored or rejected) and rows assumed cross-border."""

    rows_read: int = 0
    assumed_cross_border: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class RowReader:
    """Common chunking over a reader's records; subclasses implement :meth:`_records`."""

    #: The column (or key) the cross-border flag is read from; None: every row cross-border.
    cross_border_col: str | None = None

    def __init__(self) -> None:
        self.stats = ReadStats()

    def _records(self) -> Iterator[tuple[int, Any, str, int] | Reject]:
        raise NotImplementedError

    def chunks(self, size: int, on_reject: RejectSink) -> Iterator[Chunk]:
        """Chunks of at most ``size`` scorable rows; rejects go to ``on_reject`` in line order."""
        if size < 1:
            raise UsageError(f"chunk size must be at least 1, got {size}")
        stats = self.stats
        rows: list[Any] = []
        titles: list[str] = []
        flags: list[int] = []
        first = 0
        for record in self._records():
            stats.rows_read += 1
            if isinstance(record, Reject):
                stats.rejected += 1
                stats.reasons[record.reason] = stats.reasons.get(record.reason, 0) + 1
                on_reject(record)
                continue
            line, row, title, flag = record
            if not rows:
                first = line
            rows.append(row)
            titles.append(title)
            flags.append(flag)
            if len(rows) >= size:
                yield Chunk(rows, titles, np.array(flags, dtype=np.int8), first)
                rows, titles, flags = [], [], []
        if rows:
            yield Chunk(rows, titles, np.array(flags, dtype=np.int8), first)


def _physical_lines(stream: Iterable[bytes], source: str) -> Iterator[bytes]:
    """The lines of ``stream``; a read that fails (truncated or corrupt gzip data, an I/O
    error) ends the run with an :class:`InputError` naming ``source`` and the last good line."""
    count = 0
    try:
        for count, line in enumerate(stream, start=1):  # noqa: B007 - count is read below
            yield line
    except (EOFError, OSError, zlib.error) as error:
        what = "compressed data is truncated or corrupt" if _is_gzip_error(error) else "read failed"
        raise InputError(f"{source}: {what} after line {count}: {error}") from None


def _is_gzip_error(error: BaseException) -> bool:
    return isinstance(error, (EOFError, gzip.BadGzipFile, zlib.error))


def _raw_text(lines: Sequence[tuple[int, bytes, str]]) -> str:
    """The physical lines of a record as text for the rejects file (bad bytes as ``\\xNN``)."""
    return b"".join(line[1] for line in lines).decode("utf-8", "backslashreplace").rstrip("\r\n")


def _record_text(lines: Sequence[tuple[int, bytes, str]]) -> str:
    """A well-formed record exactly as written, without its line terminator.

    Every trailing CR and LF is terminator: a valid record ends in a closing quote or in an
    unquoted field, which cannot hold a CR. ``\\r\\r\\n`` (what ``csv.writer`` writes on Windows
    to a file opened without ``newline=''``) ends a record like ``\\n``.
    """
    text = lines[0][2] if len(lines) == 1 else "".join(line[2] for line in lines)
    return text.rstrip("\r\n")


class _LineFeed:
    """Decoded physical lines for :func:`csv.reader`, remembering those of the current record.

    Lines are decoded one at a time; an invalid UTF-8 line is decoded with ``surrogateescape``
    and marked, so the record it belongs to can be rejected without stopping the reader. Lines
    can be pushed back to be parsed again (resynchronising after a bad quote). A byte order mark
    is dropped before the first line is parsed, so that a quoted first header stays quoted.
    """

    def __init__(self, source: Iterable[bytes]) -> None:
        self._source = iter(source)
        self._pending: deque[tuple[int, bytes]] = deque()
        self.lineno = 0
        self.taken: list[tuple[int, bytes, str]] = []
        self.bad_lines = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self._pending:
            lineno, raw = self._pending.popleft()
        else:
            raw = next(self._source)
            self.lineno += 1
            lineno = self.lineno
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_lines += 1
            text = raw.decode("utf-8", "surrogateescape")
        if lineno == 1 and text.startswith(_BOM):
            text = text[1:]
        self.taken.append((lineno, raw, text))
        return text

    def take(self) -> list[tuple[int, bytes, str]]:
        """The lines consumed since the last call (those of the record just parsed)."""
        taken, self.taken = self.taken, []
        return taken

    def push_back(self, lines: Sequence[tuple[int, bytes, str]]) -> None:
        self._pending.extendleft((line[0], line[1]) for line in reversed(lines))


class CsvReader(RowReader):
    """Rows of a CSV file with a header line; each row is kept as the exact text it was read as
    (quoting included, line terminator removed), so output repeats the input byte for byte.

    ``cross_border_col`` None means "use ``cross_border`` if the header has it"; a name given
    explicitly must exist. Without a cross-border column every row is flagged cross-border.
    A column the reader uses may appear only once in the header (which one to read would be a
    guess). In a file of one column a blank line is a row with an empty title (rejected), not
    a line to skip: dropping it would lose a row. ``source`` names the input in errors.
    """

    def __init__(
        self,
        stream: Iterable[bytes],
        *,
        title_col: str = "title",
        cross_border_col: str | None = None,
        reserved: Sequence[str] = (),
        source: str = "input",
    ) -> None:
        super().__init__()
        self.source = source
        self._feed = _LineFeed(_physical_lines(stream, source))
        self._reader = csv.reader(self._feed, strict=True)
        self.header = self._read_header()
        clash = [name for name in reserved if name in self.header]
        if clash:
            raise UsageError(
                f"input already has output column(s) {', '.join(clash)}; rename or drop them"
            )
        if title_col not in self.header:
            raise UsageError(
                f"input has no column {title_col!r} (columns: {', '.join(self.header)}); "
                "name the title column with --title-col"
            )
        self.title_col = title_col
        self._title_index = self.header.index(title_col)
        self.cross_border_col = _choose_flag_column(self.header, cross_border_col)
        self._flag_index = (
            None if self.cross_border_col is None else self.header.index(self.cross_border_col)
        )
        for name in (title_col, self.cross_border_col):
            positions = [i + 1 for i, column in enumerate(self.header) if column == name]
            if len(positions) > 1:
                raise UsageError(
                    f"{source}: the header names {len(positions)} columns {name!r} (columns "
                    f"{', '.join(map(str, positions))}); which one to read is ambiguous: "
                    "rename the others"
                )

    def _read_header(self) -> list[str]:
        while True:
            self._feed.take()
            try:
                header = next(self._reader)
            except StopIteration:
                raise InputError(f"{self.source}: empty: expected a header line") from None
            except csv.Error as error:
                line = self._feed.lineno
                raise InputError(
                    f"{self.source}: line {line}: header is not valid CSV: {error}"
                ) from None
            if self._feed.bad_lines:
                raise InputError(f"{self.source}: header line is not valid UTF-8")
            self._feed.take()
            if header:
                return header

    def _records(self) -> Iterator[tuple[int, Any, str, int] | Reject]:
        feed, reader = self._feed, self._reader
        width = len(self.header)
        title_index, flag_index = self._title_index, self._flag_index
        title_col = self.title_col
        read_flag = None if self.cross_border_col is None else FlagReader(self.cross_border_col)
        while True:
            bad_before = feed.bad_lines
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                if str(error).startswith(_FIELD_LIMIT_ERROR):
                    detail = f"a field is longer than {csv.field_size_limit()} characters"
                    yield self._resync(feed.take(), detail, FIELD_TOO_LONG)
                else:
                    yield self._resync(feed.take(), f"malformed CSV: {error}")
                continue
            lines = feed.take()
            if not fields:
                if width > 1:  # a blank line between records of several fields: not a row
                    continue
                fields = [""]
            line = lines[0][0]
            if len(fields) != width:
                yield self._resync(
                    lines, f"malformed CSV: expected {width} fields, found {len(fields)}"
                )
                continue
            if feed.bad_lines != bad_before:
                yield Reject(line, BAD_ENCODING, "not valid UTF-8", _raw_text(lines))
                continue
            try:
                title = read_title(fields[title_index], title_col)
                flag = (
                    ASSUMED_CROSS_BORDER
                    if read_flag is None or flag_index is None
                    else read_flag(fields[flag_index])
                )
            except RowError as error:
                yield Reject(line, error.reason, error.detail, _raw_text(lines))
                continue
            if read_flag is None:
                self.stats.assumed_cross_border += 1
            yield line, _record_text(lines), title, flag

    def _resync(
        self, lines: list[tuple[int, bytes, str]], detail: str, reason: str = MALFORMED_CSV
    ) -> Reject:
        """Reject the first line of a broken record and parse the lines after it again.

        An unbalanced quote makes the parser swallow the following lines into one field; only
        the line where the broken record starts is rejected, the rest are read afresh.
        """
        if len(lines) > 1:
            self._feed.push_back(lines[1:])
        return Reject(lines[0][0], reason, detail, _raw_text(lines[:1]))


class JsonlReader(RowReader):
    """Rows of a JSON Lines file: one object per line, kept as the text it was read as.

    A record without the cross-border key is flagged cross-border (counted in the stats); a
    key present with ``null`` or ``""`` is an unknown seller. A record that names the title or
    cross-border key twice, or is nested too deeply to parse, is rejected.
    """

    def __init__(
        self,
        stream: Iterable[bytes],
        *,
        title_col: str = "title",
        cross_border_col: str | None = None,
        reserved: Sequence[str] = (),
        source: str = "input",
    ) -> None:
        super().__init__()
        self.source = source
        self._stream = _physical_lines(stream, source)
        self.title_col = title_col
        self.cross_border_col: str = cross_border_col or "cross_border"
        self._reserved = frozenset(reserved)

    def _records(self) -> Iterator[tuple[int, Any, str, int] | Reject]:
        title_col, flag_col = self.title_col, self.cross_border_col
        read_flag = FlagReader(flag_col)
        reserved = self._reserved
        decode = json.JSONDecoder().decode
        keys = (title_col, flag_col)
        title_key, flag_key = (json.dumps(key, ensure_ascii=False) for key in keys)
        for line, raw in enumerate(self._stream, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Reject(line, BAD_ENCODING, "not valid UTF-8", _raw_text([(line, raw, "")]))
                continue
            if line == 1 and text.startswith(_BOM):
                text = text[1:]
            try:
                record = decode(text)
            except ValueError as error:
                yield Reject(line, BAD_JSON, f"not JSON: {error}", _raw_text([(line, raw, "")]))
                continue
            except RecursionError:
                detail = "not JSON this reader can parse: nested too deeply"
                yield Reject(line, BAD_JSON, detail, _raw_text([(line, raw, "")]))
                continue
            if not isinstance(record, dict):
                detail = f"not a JSON object but {type(record).__name__}"
                yield Reject(line, BAD_JSON, detail, _raw_text([(line, raw, "")]))
                continue
            twice = (
                _repeated_key(text, keys)
                if text.count(title_key) > 1
                or text.count(flag_key) > 1
                or ("\\" in text and _ESCAPED_KEY.search(text))
                else None
            )
            if twice is not None:
                detail = f"key {twice!r} appears more than once"
                yield Reject(line, BAD_JSON, detail, _raw_text([(line, raw, "")]))
                continue
            if ("\\ud" in text or "\\uD" in text) and not _encodable(record):
                detail = "lone surrogate escape in a string"
                yield Reject(line, BAD_ENCODING, detail, _raw_text([(line, raw, "")]))
                continue
            if reserved and not reserved.isdisjoint(record):
                clash = ", ".join(k for k in record if k in reserved)
                detail = f"record already has output key(s) {clash}"
                yield Reject(line, OUTPUT_KEY_CLASH, detail, _raw_text([(line, raw, "")]))
                continue
            try:
                title = read_title(record.get(title_col), title_col)
                if flag_col in record:
                    flag = read_flag(record[flag_col])
                else:
                    flag = ASSUMED_CROSS_BORDER
                    self.stats.assumed_cross_border += 1
            except RowError as error:
                yield Reject(line, error.reason, error.detail, _raw_text([(line, raw, "")]))
                continue
            yield line, text, title, flag


def _encodable(record: object) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


#: A JSON string holding an escape that can spell a letter (``\\u``, ``\\/``), used as a key.
_ESCAPED_KEY: Final = re.compile(r'\\[u/][^"]*"\s*:')


def _repeated_key(text: str, keys: Sequence[str]) -> str | None:
    """The first of ``keys`` that JSON object ``text`` holds twice at its top level, if any.

    :mod:`json` keeps the last of two equal keys, so ``{"cross_border": false,
    "cross_border": true}`` would be read as whichever came last. The reader calls this (a
    second parse, keeping every pair) only for a line that writes one of the keys twice or
    writes some key with an escape (``\\u0063ross_border``).
    """
    pairs: list[list[tuple[str, Any]]] = []

    def keep(items: list[tuple[str, Any]]) -> dict[str, Any]:
        pairs.append(items)
        return dict(items)

    json.loads(text, object_pairs_hook=keep)
    top = [name for name, _ in pairs[-1]]  # the outermost object is finished last
    return next((key for key in keys if top.count(key) > 1), None)


def _choose_flag_column(header: Sequence[str], requested: str | None) -> str | None:
    if requested is None:
        return "cross_border" if "cross_border" in header else None
    if requested not in header:
        raise UsageError(
            f"input has no column {requested!r} (columns: {', '.join(header)}); "
            "leave out --cross-border-col to treat every listing as cross-border"
        )
    return requested


def make_reader(
    fmt: str,
    stream: Iterable[bytes],
    *,
    title_col: str = "title",
    cross_border_col: str | None = None,
    reserved: Sequence[str] = (),
    source: str = "input",
) -> RowReader:
    """A :class:`CsvReader` or :class:`JsonlReader` for ``fmt``; ``source`` names the input
    in errors."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    reader = CsvReader if fmt == "csv" else JsonlReader
    return reader(
        stream,
        title_col=title_col,
        cross_border_col=cross_border_col,
        reserved=reserved,
        source=source,
    )
